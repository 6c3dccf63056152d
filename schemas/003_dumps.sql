-- Warehouse schema, version 3: what mongodump wrote about the data it dumped.
-- Kept as written, so nothing of a dump is lost even though only documents
-- are loaded as data. The companion files (<coll>.metadata.json,
-- prelude.json) are not sources of their own: they are recorded with the
-- .bson file they describe.

-- The archive header (relaxed Extended JSON of its header document), or the
-- prelude.json of the dump a .bson file belongs to, as written.
ALTER TABLE source ADD COLUMN dump_header TEXT;

-- One row per namespace of a mongodump file: the one of a .bson file, or
-- every one an archive lists in its header or holds data for (a time-series
-- collection's system.buckets.*, the oplog).
CREATE TABLE source_namespace (
    source_id     INTEGER NOT NULL REFERENCES source (source_id),
    database_name TEXT NOT NULL,             -- '' for the oplog of --oplog
    collection    TEXT NOT NULL,
    documents     INTEGER NOT NULL,          -- read from this file
    type          TEXT,                      -- collection, view, timeseries; NULL when not stated
    metadata      TEXT,                      -- <coll>.metadata.json or the archive's metadata
                                             -- string, as written (even when not valid JSON)
    PRIMARY KEY (source_id, database_name, collection)
) WITHOUT ROWID;
