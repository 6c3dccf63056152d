-- Warehouse schema, version 2: loading the exporter's CSV files (docs/csv-eras.md).
--
-- A run known only from CSV files has a `run` row like any other (source_id:
-- the first file that named it, document_id NULL), its parameters in
-- `parameter`, and what the files give in `census`, `sample` and
-- `census_locus` (aggregates only: no per-locus sample rows, no trait lists).
-- The simulation file gives kandler_interval in generations; it is stored as
-- the parameter `kandler_interval_generations`, never turned into ticks.

-- CSV files that added rows to a run another source created (the run row
-- names the creating file), and the line of the run's first row in each.
CREATE TABLE csv_origin (
    run_id     INTEGER NOT NULL REFERENCES run (run_id),
    source_id  INTEGER NOT NULL REFERENCES source (source_id),
    first_line INTEGER NOT NULL,
    PRIMARY KEY (run_id, source_id)
) WITHOUT ROWID;

-- Values of a CSV file that the warehouse does not show as the file gave
-- them, because an exporter era is known to have written them wrong.
CREATE TABLE csv_correction (
    source_id   INTEGER NOT NULL REFERENCES source (source_id),
    source_line INTEGER NOT NULL,
    run_id      INTEGER NOT NULL REFERENCES run (run_id),
    sample_size INTEGER,                  -- the row's sample, for sampled files
    file_column TEXT NOT NULL,            -- as the header names it
    file_value  TEXT,                     -- exactly as written in the file
    stored_as   TEXT,                     -- table.column holding it now; NULL: withheld
    rule        TEXT NOT NULL,            -- which era bug, see docs/csv-eras.md
    PRIMARY KEY (source_id, source_line, file_column)
) WITHOUT ROWID;

-- Two sources give different values for the same thing (floats: more than
-- 1e-12 apart, relative). stored_value is what the tables and views show;
-- file_value is what source_id (at source_line, when known) says.
CREATE TABLE disagreement (
    disagreement_id INTEGER PRIMARY KEY,
    run_id       INTEGER NOT NULL REFERENCES run (run_id),
    table_name   TEXT NOT NULL,           -- run, parameter, census, census_locus, sample
    column_name  TEXT NOT NULL,           -- for parameter: the parameter's name
    ta_duration  INTEGER,                 -- the row within the run, where the table needs it
    sample_size  INTEGER,
    locus        INTEGER,
    stored_value,                         -- typed as stored
    file_value,                           -- typed as read
    source_id    INTEGER NOT NULL REFERENCES source (source_id),
    source_line  INTEGER
);
CREATE INDEX disagreement_by_run ON disagreement (run_id);
CREATE INDEX disagreement_by_source ON disagreement (source_id);
