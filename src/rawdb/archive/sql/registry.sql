-- What archival records in the registry of partition tables (rawdb_partitions).

-- name: partitions_archived
-- Mark a period being archived as archived, with its file, row count and checksum.
-- params: archived_at, archive_file, row_count, checksum, counted_at, name
-- returns: nothing
UPDATE rawdb_partitions SET state = 'archived',
    archived_at = ?, archive_file = ?, row_count = ?, checksum = ?, counted_at = ?
WHERE name = ? AND state = 'archiving';

-- name: partitions_restored
-- Mark an archived period active again, with the row count and checksum it came back with.
-- params: row_count, checksum, counted_at, name
-- returns: nothing
UPDATE rawdb_partitions SET state = 'active',
    archived_at = NULL, row_count = ?, checksum = ?, counted_at = ?
WHERE name = ? AND state = 'archived';

-- name: partitions_forget_file
-- Forget the archive file of a restored period once the file is removed.
-- params: name
-- returns: nothing
UPDATE rawdb_partitions SET archive_file = NULL
WHERE name = ? AND state = 'active';
