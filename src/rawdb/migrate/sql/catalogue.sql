-- What the migrator reads of a database's schema: sqlite_schema and the pragmas' table-valued
-- functions, for schema dumps and snapshots, adoption, the tables a migration touched and the
-- foreign keys a DROP TABLE would fire.

-- name: schema_objects
-- Every object of the schema with its DDL, SQLite's own tables left out.
-- params: none
-- returns: rows
SELECT type, name, tbl_name, sql FROM sqlite_schema
WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%';

-- name: schema_rows
-- Every row of sqlite_schema, to see what a migration changed in the schema.
-- params: none
-- returns: rows
SELECT type, name, tbl_name, sql FROM sqlite_schema;

-- name: all_table_names
-- The name of every table, SQLite's own included.
-- params: none
-- returns: rows
SELECT name FROM sqlite_schema WHERE type = 'table';

-- name: table_names
-- The name of every table but SQLite's own.
-- params: none
-- returns: rows
SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%';

-- name: application_table_names
-- The name of every table but SQLite's own, in name order.
-- params: none
-- returns: rows
SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
ORDER BY name;

-- name: table_definitions
-- Every table's name and DDL (a virtual table's starts CREATE VIRTUAL).
-- params: none
-- returns: rows
SELECT name, sql FROM sqlite_schema WHERE type = 'table';

-- name: table_info
-- The columns of one table, as PRAGMA table_info gives them (none for a missing table).
-- params: table
-- returns: rows
SELECT cid, name, type, "notnull", dflt_value, pk FROM pragma_table_info(?);

-- name: table_xinfo
-- The columns of one table, generated and hidden ones included (PRAGMA table_xinfo).
-- params: table
-- returns: rows
SELECT cid, name, type, "notnull", dflt_value, pk, hidden FROM pragma_table_xinfo(?);

-- name: foreign_key_list
-- The foreign keys of one table, a row per column (PRAGMA foreign_key_list).
-- params: table
-- returns: rows
SELECT id, seq, "table", "from", "to", on_update, on_delete, "match"
FROM pragma_foreign_key_list(?);

-- name: foreign_key_edges
-- Each table with a foreign key and the table it references.
-- params: none
-- returns: rows
SELECT m.name, f."table" FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f
WHERE m.type = 'table';

-- name: index_xinfo
-- The columns of one index, its key and the rest (PRAGMA index_xinfo).
-- params: index
-- returns: rows
SELECT seqno, cid, name, "desc", coll, "key" FROM pragma_index_xinfo(?);

-- name: table_rows
-- Every row of one table, every column (for a digest of its data).
-- params: none
-- returns: rows
SELECT * FROM __table__;
