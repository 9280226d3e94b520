-- Other migration tools' bookkeeping, read (never written) to adopt a database they built.
--
-- Each tool's table has a default name that a user may have changed, so the statements are
-- templates: __table__ is the name found in sqlite_schema (rawdb.migrate.foreign).

-- name: alembic_revisions
-- The revision Alembic recorded (a row per head).
-- params: none
-- returns: rows
SELECT version_num FROM alembic_version;

-- name: golang_migrate_versions
-- golang-migrate's version and its dirty flag (one row).
-- params: none
-- returns: rows
SELECT version, dirty FROM __table__;

-- name: dbmate_versions
-- The versions dbmate applied, a row each.
-- params: none
-- returns: rows
SELECT version FROM __table__;

-- name: goose_versions
-- goose's log of versions applied and rolled back, oldest first.
-- params: none
-- returns: rows
SELECT version_id, is_applied FROM __table__ ORDER BY id;

-- name: diesel_versions
-- The versions Diesel applied, a row each.
-- params: none
-- returns: rows
SELECT version FROM __table__;

-- name: flyway_history
-- Flyway's history of migrations, undos, baselines and deletes, in the order it ran them.
-- params: none
-- returns: rows
SELECT version, type, script, success FROM __table__ ORDER BY installed_rank;
