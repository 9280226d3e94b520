-- The partition lifecycle on PostgreSQL: the registry's states and the catalogue's view of a
-- partition (attached, or detached by an interrupted DETACH ... CONCURRENTLY).

-- name: partitions_online
-- A family's partitions still in the database (active, or on their way out).
-- params: family
-- returns: rows
SELECT name FROM rawdb_partitions WHERE family = :family AND state <> 'archived';

-- name: partition_state
-- One partition's registry row.
-- params: name
-- returns: row
SELECT state, row_count, checksum, archive_file FROM rawdb_partitions WHERE name = :name;

-- name: mark_archiving
-- The period is on its way out: writes for it are refused from now on.
-- params: name
-- returns: nothing
UPDATE rawdb_partitions SET state = 'archiving' WHERE name = :name AND state = 'active';

-- name: mark_archived
-- The period's rows are in their archive file, verified, and its table is gone.
-- params: name, file, rows, checksum
-- returns: nothing
WITH marked AS (
    UPDATE rawdb_partitions
    SET state = 'archived', archived_at = now(), archive_file = :file, row_count = :rows,
        checksum = :checksum, counted_at = now()
    WHERE name = :name
    RETURNING name
)

INSERT INTO rawdb_partition_audit (action, table_name, row_count, checksum, archive_file)
SELECT
    'archive' AS action, m.name AS table_name, :rows AS row_count, :checksum AS checksum,
    :file AS archive_file
FROM marked AS m;

-- name: partition_parent
-- The table a partition is attached to (no row once detached).
-- params: name
-- returns: row
SELECT i.inhparent::regclass::text AS parent
FROM pg_inherits AS i WHERE i.inhrelid = to_regclass(:name);

-- name: detach_pending
-- Whether a DETACH ... CONCURRENTLY of the partition was interrupted half-way.
-- params: name
-- returns: row
SELECT i.inhdetachpending AS pending
FROM pg_inherits AS i WHERE i.inhrelid = to_regclass(:name);

-- name: partition_rows
-- Every row of a (detached) partition, to write into its archive file.
-- params: none
-- returns: rows
SELECT __columns__ FROM __table__;

-- name: partitions_detach
-- Take a partition out of its family's table without blocking readers or writers of the rest.
-- params: none
-- returns: nothing
ALTER TABLE __family__ DETACH PARTITION __table__ CONCURRENTLY;

-- name: partitions_detach_finalize
-- Finish a DETACH ... CONCURRENTLY that was interrupted half-way.
-- params: none
-- returns: nothing
ALTER TABLE __family__ DETACH PARTITION __table__ FINALIZE;

-- name: partitions_drop_archived
-- Drop a detached partition whose rows are in their verified archive file.
-- params: none
-- returns: nothing
DROP TABLE __table__;
