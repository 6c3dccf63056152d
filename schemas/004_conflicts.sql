-- Warehouse schema, version 4: one run, several versions.
-- A run (simulation_run_id) read again with the same content is a duplicate:
-- stored once, counted in source.duplicates. Read again with other content it
-- is a conflict: the first version loaded stays in the tables and views, the
-- other is kept whole here, with where it came from.

-- Fingerprint of the run document's content, equal across export eras and
-- dumps (warehouse/profiles/fingerprint.py); NULL for runs known only from CSV.
ALTER TABLE run ADD COLUMN content_sha256 TEXT;

CREATE TABLE conflict (
    conflict_id       INTEGER PRIMARY KEY,
    simulation_run_id TEXT NOT NULL,
    source_id         INTEGER NOT NULL REFERENCES source (source_id),
    node              TEXT,
    source_line       INTEGER,
    source_offset     INTEGER,
    content_sha256    TEXT NOT NULL,
    document          TEXT NOT NULL          -- this version, relaxed Extended JSON
);
CREATE INDEX conflict_by_run ON conflict (simulation_run_id);
CREATE INDEX conflict_by_source ON conflict (source_id);

ALTER TABLE source ADD COLUMN conflicts INTEGER NOT NULL DEFAULT 0;
