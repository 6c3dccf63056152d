-- Warehouse schema, version 12: shards and their merge.
-- A warehouse built with `warehouse build --shard K` is shard K: its keys
-- (source, run, sample, timing, document, container and label ids) start above
-- (K + 1) * 2^40, so that no two shards' keys meet, nor those of a warehouse
-- built on one machine (from 1), and it keeps what a merge
-- needs to apply the duplicate and conflict rules across shards as one build
-- would: each stored run's document, and each duplicate met. These tables
-- stay empty in a warehouse that is not a shard.

CREATE TABLE shard (
    number       INTEGER PRIMARY KEY,       -- K
    key_base     INTEGER NOT NULL,          -- (K + 1) * 2^40: keys of this shard are above it
    built_at     TEXT NOT NULL,             -- UTC, ISO 8601
    tool_version TEXT NOT NULL
);

-- the document of each run the shard stored (zstd of its BSON), for a conflict
-- a merge may find with another shard
CREATE TABLE shard_document (
    run_id INTEGER PRIMARY KEY REFERENCES run (run_id),
    body   BLOB NOT NULL
);

-- every run the shard found already stored with the same content, where it was
-- read: against another shard's version it may be a conflict
CREATE TABLE shard_duplicate (
    simulation_run_id TEXT NOT NULL,
    source_id         INTEGER NOT NULL REFERENCES source (source_id),
    source_line       INTEGER,
    source_offset     INTEGER,
    content_sha256    TEXT
);

-- the shards merged into this warehouse (`warehouse merge`)
CREATE TABLE merged_shard (
    number          INTEGER NOT NULL,
    path            TEXT NOT NULL,
    manifest_sha256 TEXT NOT NULL,
    sources         INTEGER NOT NULL,       -- sources the merge added
    runs            INTEGER NOT NULL,       -- runs the merge added
    merged_at       TEXT NOT NULL,
    tool_version    TEXT NOT NULL
);
