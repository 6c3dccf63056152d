-- Warehouse schema, version 5: what a salvaging build left out.
-- By default a damaged file loads nothing. `warehouse build --salvage` keeps
-- the intact records before (and, for JSON lines, after) the damage; every
-- part it leaves out is recorded here.
CREATE TABLE skipped (
    skipped_id    INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES source (source_id),
    source_line   INTEGER,                  -- line of the damage in a text file
    source_offset INTEGER,                  -- or its byte offset (decompressed)
    reason        TEXT NOT NULL,            -- the error message
    raw           TEXT                      -- the text left out, where there is one (cut at 64 KiB)
);
CREATE INDEX skipped_by_source ON skipped (source_id);

ALTER TABLE source ADD COLUMN skipped INTEGER NOT NULL DEFAULT 0;
