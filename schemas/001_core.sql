-- Warehouse schema, version 1.
-- Applied once to a new warehouse; PRAGMA user_version records the version.
--
-- Conventions
--   * Values keep their type: 64-bit integers are INTEGER, never REAL.
--   * A NaN is stored as the TEXT 'NaN' (SQLite turns a REAL NaN into NULL);
--     infinities are REAL (they print as Inf); NULL means missing.
--   * `position` is the 0-based index of a value in its source list or map.
--   * Loci are 0-based, as in the source documents.

-- The ledger: one row per loaded file.
CREATE TABLE source (
    source_id      INTEGER PRIMARY KEY,
    path           TEXT NOT NULL,             -- as found under the paths given to `build`
    size           INTEGER NOT NULL,          -- bytes on disk
    sha256         TEXT NOT NULL,             -- of the bytes on disk
    format         TEXT NOT NULL,             -- e.g. mongoexport-jsonl, mongoexport-array
    compression    TEXT NOT NULL,             -- none, gzip, bzip2, xz, zstd
    node           TEXT,                      -- cluster node the file came from
    database_name  TEXT,                      -- MongoDB database, where the format tells it
    collection     TEXT,                      -- MongoDB collection, where the format tells it
    documents      INTEGER NOT NULL DEFAULT 0, -- records read from the file
    runs           INTEGER NOT NULL DEFAULT 0, -- runs stored from it
    duplicates     INTEGER NOT NULL DEFAULT 0, -- runs already in the warehouse, skipped
    rows_written   INTEGER NOT NULL DEFAULT 0, -- rows, all tables
    values_written INTEGER NOT NULL DEFAULT 0, -- rows times columns, all tables
    loaded_at      TEXT NOT NULL,             -- UTC, ISO 8601
    tool_version   TEXT NOT NULL,
    UNIQUE (sha256, size)
);

-- One row per simulation run.
CREATE TABLE run (
    run_id            INTEGER PRIMARY KEY,
    simulation_run_id TEXT NOT NULL UNIQUE,   -- urn:uuid:…, unique across nodes
    model_class_label TEXT,
    source_id         INTEGER NOT NULL REFERENCES source (source_id),
    node              TEXT,
    source_line       INTEGER,                -- where in the source the run was read
    source_offset     INTEGER,
    document_id       TEXT                    -- MongoDB _id on its node; not unique across nodes
);
CREATE INDEX run_by_source ON run (source_id);

-- One row per run and parameter, value typed as in the source.
CREATE TABLE parameter (
    run_id INTEGER NOT NULL REFERENCES run (run_id),
    name   TEXT NOT NULL,
    value,                                    -- INTEGER, REAL or TEXT, no affinity
    PRIMARY KEY (run_id, name)
) WITHOUT ROWID;

-- Document fields no table has a column for: kept, never dropped.
CREATE TABLE run_extra (
    run_id INTEGER NOT NULL REFERENCES run (run_id),
    field  TEXT NOT NULL,
    value  TEXT,                              -- relaxed Extended JSON
    PRIMARY KEY (run_id, field)
) WITHOUT ROWID;

-- Whole-population statistics per run, at the grain of the population export.
CREATE TABLE census (
    run_id                   INTEGER PRIMARY KEY REFERENCES run (run_id),
    num_trait_configurations INTEGER,
    configuration_slatkin    REAL,
    config_entropy           REAL,            -- derived from trait_configuration_counts
    config_iqv               REAL,            -- derived
    config_neiman_tf         REAL,            -- derived
    slatkin_locus_min REAL, slatkin_locus_max REAL, slatkin_locus_mean REAL,
    entropy_locus_min REAL, entropy_locus_max REAL, entropy_locus_mean REAL,
    iqv_locus_min     REAL, iqv_locus_max     REAL, iqv_locus_mean     REAL,
    richness_locus_min INTEGER, richness_locus_max INTEGER, richness_locus_mean REAL,
    kandler_locus_min  INTEGER, kandler_locus_max  INTEGER, kandler_locus_mean  REAL,
    neiman_tf_locus_min REAL, neiman_tf_locus_max REAL, neiman_tf_locus_mean REAL
);

-- Per-locus population statistics.
CREATE TABLE census_locus (
    run_id            INTEGER NOT NULL REFERENCES run (run_id),
    locus             INTEGER NOT NULL,
    slatkin_exact     REAL,
    shannon_entropy   REAL,
    iqv_diversity     REAL,
    richness          INTEGER,                -- pop_richness
    kandler_remaining INTEGER,                -- kandler_remaining_count
    neiman_tf         REAL,                   -- derived from the locus's unlabeled_frequencies
    PRIMARY KEY (run_id, locus)
) WITHOUT ROWID;

-- Per-locus trait counts and frequencies, sorted descending in the source
-- (unlabeled_counts, unlabeled_frequencies).
CREATE TABLE census_trait (
    run_id    INTEGER NOT NULL REFERENCES run (run_id),
    locus     INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    count     INTEGER,
    frequency REAL,
    PRIMARY KEY (run_id, locus, position)
) WITHOUT ROWID;

-- Counts of each trait configuration, sorted descending (trait_configuration_counts).
CREATE TABLE census_configuration (
    run_id   INTEGER NOT NULL REFERENCES run (run_id),
    position INTEGER NOT NULL,
    count    INTEGER,
    PRIMARY KEY (run_id, position)
) WITHOUT ROWID;

-- One row per run, sample size and TA duration (NULL: synchronic sample).
-- Aggregates are min/max/mean over loci, as the export files give them.
CREATE TABLE sample (
    sample_id          INTEGER PRIMARY KEY,
    run_id             INTEGER NOT NULL REFERENCES run (run_id),
    ta_duration        INTEGER,               -- generations
    sample_size        INTEGER NOT NULL,
    config_slatkin     REAL,
    num_configurations INTEGER,
    config_entropy     REAL,
    config_iqv         REAL,
    config_neiman_tf   REAL,                  -- derived (TA samples)
    richness_locus_min INTEGER, richness_locus_max INTEGER, richness_locus_mean REAL,
    slatkin_locus_min  REAL,    slatkin_locus_max  REAL,    slatkin_locus_mean  REAL,
    entropy_locus_min  REAL,    entropy_locus_max  REAL,    entropy_locus_mean  REAL,
    iqv_locus_min      REAL,    iqv_locus_max      REAL,    iqv_locus_mean      REAL,
    kandler_locus_min  INTEGER, kandler_locus_max  INTEGER, kandler_locus_mean  REAL,
    neiman_tf_locus_min REAL,   neiman_tf_locus_max REAL,   neiman_tf_locus_mean REAL
);
CREATE INDEX sample_by_run ON sample (run_id, ta_duration, sample_size);

-- Per-locus sample statistics.
CREATE TABLE sample_locus (
    sample_id         INTEGER NOT NULL REFERENCES sample (sample_id),
    locus             INTEGER NOT NULL,
    richness          INTEGER,
    slatkin           REAL,
    entropy           REAL,
    iqv               REAL,
    kandler_remaining INTEGER,
    neiman_tf         REAL,                   -- derived (TA samples)
    PRIMARY KEY (sample_id, locus)
) WITHOUT ROWID;

-- Per-locus trait counts and frequencies of a sample, sorted descending
-- (unlabeled_counts_ssize, unlabeled_freq_ssize, unlabeled_freq_ta_ssize).
CREATE TABLE sample_trait (
    sample_id INTEGER NOT NULL REFERENCES sample (sample_id),
    locus     INTEGER NOT NULL,
    position  INTEGER NOT NULL,
    count     INTEGER,
    frequency REAL,
    PRIMARY KEY (sample_id, locus, position)
) WITHOUT ROWID;

-- Trait configurations of a sample: sorted counts of a synchronic sample
-- (label NULL), or the labeled counts of a TA sample, label as in the source,
-- e.g. '(3, 0, 12, 7)', zero counts included.
CREATE TABLE sample_configuration (
    sample_id INTEGER NOT NULL REFERENCES sample (sample_id),
    position  INTEGER NOT NULL,
    count     INTEGER,
    label     TEXT,
    PRIMARY KEY (sample_id, position)
) WITHOUT ROWID;

-- The simulation_timing collection: one row per run.
CREATE TABLE simulation_timing (
    timing_id         INTEGER PRIMARY KEY,
    simulation_run_id TEXT NOT NULL,
    source_id         INTEGER NOT NULL REFERENCES source (source_id),
    experiment_name   TEXT,
    script_filename   TEXT,
    rule_class        TEXT,
    pop_class         TEXT,
    elapsed_time      REAL,
    run_length        INTEGER,
    popsize           INTEGER,
    document          TEXT                    -- the whole document, relaxed Extended JSON
);
CREATE INDEX simulation_timing_by_run ON simulation_timing (simulation_run_id);

-- Documents of collections the profile does not know: kept whole.
CREATE TABLE document (
    document_id   INTEGER PRIMARY KEY,
    source_id     INTEGER NOT NULL REFERENCES source (source_id),
    database_name TEXT,
    collection    TEXT,
    source_line   INTEGER,
    source_offset INTEGER,
    body          TEXT NOT NULL               -- relaxed Extended JSON
);
CREATE INDEX document_by_collection ON document (collection);
