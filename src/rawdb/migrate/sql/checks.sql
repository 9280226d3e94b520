-- The migrator's checks and switches around a migration: foreign keys off and on, the checks
-- before commit, and the verdict on a backup copy.

-- name: foreign_keys_on
-- Enforce foreign keys again (outside a transaction; inside one SQLite ignores it).
-- params: none
-- returns: nothing
PRAGMA foreign_keys = ON;

-- name: foreign_keys_off
-- Stop enforcing foreign keys, for a table rebuild (outside a transaction).
-- params: none
-- returns: nothing
PRAGMA foreign_keys = OFF;

-- name: foreign_keys_enabled
-- Whether foreign keys are enforced on this connection (1) or not (0).
-- params: none
-- returns: value
PRAGMA foreign_keys;

-- name: check_constraints_on
-- Enforce CHECK constraints (a migration may have turned them off; quick_check skips them then).
-- params: none
-- returns: nothing
PRAGMA ignore_check_constraints = OFF;

-- name: quick_check_table
-- quick_check of one table and its indexes: 'ok', or a row per problem.
-- params: table
-- returns: rows
SELECT quick_check FROM pragma_quick_check(?);

-- name: foreign_key_check_all
-- Every row of every table whose foreign key has no parent row.
-- params: none
-- returns: rows
PRAGMA foreign_key_check;

-- name: foreign_key_check_table
-- Every row of one table whose foreign key has no parent row.
-- params: table
-- returns: rows
SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check(?);

-- name: journal_mode_delete
-- Leave a backup copy a rollback-journal database in one file (no -wal beside it).
-- params: none
-- returns: row
PRAGMA journal_mode = DELETE;

-- name: quick_check
-- quick_check of the whole file: 'ok', or a row per problem (the first is reported).
-- params: none
-- returns: rows
PRAGMA quick_check;
