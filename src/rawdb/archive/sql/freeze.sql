-- Freezing a period table while it is archived: triggers refusing every insert, update and
-- delete, made in the transaction that marks it 'archiving' and dropped with the table.
-- __trigger__ is rawdb_frozen_<table>_<insert|update|delete>, __table__ the period table.

-- name: archive_freeze_insert
-- Refuse every insert into a table being archived.
-- params: none
-- returns: nothing
CREATE TRIGGER IF NOT EXISTS __trigger__ BEFORE INSERT ON __table__
BEGIN SELECT raise(ABORT, '__table__ is being archived and is read-only'); END;

-- name: archive_freeze_update
-- Refuse every update of a table being archived.
-- params: none
-- returns: nothing
CREATE TRIGGER IF NOT EXISTS __trigger__ BEFORE UPDATE ON __table__
BEGIN SELECT raise(ABORT, '__table__ is being archived and is read-only'); END;

-- name: archive_freeze_delete
-- Refuse every delete from a table being archived.
-- params: none
-- returns: nothing
CREATE TRIGGER IF NOT EXISTS __trigger__ BEFORE DELETE ON __table__
BEGIN SELECT raise(ABORT, '__table__ is being archived and is read-only'); END;

-- name: archive_frozen
-- How many of a table's three freeze triggers are in place.
-- params: tbl_name, insert_trigger, update_trigger, delete_trigger
-- returns: value
SELECT count(*) FROM main.sqlite_schema WHERE type = 'trigger' AND tbl_name = ?
AND name IN (?, ?, ?);
