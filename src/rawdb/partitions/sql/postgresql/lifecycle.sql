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

-- name: partitions_status
-- A family's partitions from the registry, with the catalogue's size and row estimate of each
-- one still in the database (reltuples is -1 until the table was first analyzed).
-- params: family
-- returns: rows
SELECT
    p.name, p.state, p.period_start, p.period_end, p.row_count, p.archive_file,
    c.reltuples::bigint AS estimate,
    CASE WHEN c.oid IS NULL THEN NULL ELSE pg_total_relation_size(c.oid) END AS bytes
FROM rawdb_partitions AS p
LEFT JOIN pg_class AS c ON c.oid = to_regclass(p.name)
WHERE p.family = :family
ORDER BY p.period_start;

-- name: partition_count_rows
-- The exact rows of a partition never analyzed yet.
-- params: none
-- returns: value
SELECT count(*) AS n FROM __table__;

-- name: partition_forget
-- Remove an archived period's registry row, in the transaction that attaches it again.
-- params: name
-- returns: nothing
DELETE FROM rawdb_partitions WHERE name = :name AND state = 'archived';

-- name: mark_restored
-- The restored period's count and checksum, and the audit of its restore from the file.
-- params: name, file, rows, checksum
-- returns: nothing
WITH marked AS (
    UPDATE rawdb_partitions
    SET row_count = :rows, checksum = :checksum, counted_at = now()
    WHERE name = :name
    RETURNING name
)

INSERT INTO rawdb_partition_audit (action, table_name, row_count, checksum, archive_file)
SELECT
    'restore' AS action, m.name AS table_name, :rows AS row_count, :checksum AS checksum,
    :file AS archive_file
FROM marked AS m;

-- name: partitions_purge_deleted
-- Delete for good a family's rows soft-deleted before a cutoff, with an audit row per
-- partition that lost rows; the rows deleted per partition.
-- params: cutoff, detail
-- returns: rows
WITH gone AS (
    DELETE FROM __family__ WHERE deleted_at < :cutoff
    RETURNING tableoid::regclass::text AS partition
)

INSERT INTO rawdb_partition_audit (action, table_name, row_count, detail)
SELECT 'purge' AS action, g.partition AS table_name, count(*) AS row_count, :detail AS detail
FROM gone AS g
GROUP BY g.partition
RETURNING table_name, row_count;
