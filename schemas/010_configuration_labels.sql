-- Warehouse schema, version 10: configuration labels stored once (issue 16).
--
-- The labels of the TA configuration maps (unlabeled_config_counts_ta_ssize),
-- e.g. '(26720, 26751, 26793, 26881)', were most of a warehouse's bytes: each
-- row of sample_configuration held its label as text, and a run's label comes
-- back in several of its samples (~5 times in the demo experiment). Each
-- distinct label of a run is now stored once, in configuration_label, and a
-- sample's configuration rows (sample_config_count) hold its integer id.
--
-- Label ids are given like run and sample ids: in reading order, from the
-- next free id, each distinct label of a run getting the next id when the
-- run's document first names it (samples in (ta_duration, sample_size) order,
-- then map order). A label is stored once per run, not once per warehouse:
-- trait ids are counters of one simulation, so the same text in two runs names
-- unrelated traits (and in the demo experiment, 404,584 (run, label) pairs
-- hold 404,583 distinct texts: a dictionary shared by all runs would store
-- one row less). Scoped this way, ids need no lookup in the warehouse (the
-- worker process that maps documents cannot write to it), labels are only
-- ever appended, and merging warehouses shifts label ids by an offset, as it
-- shifts run and sample ids.
--
-- No other bulk table holds text: census_configuration has no labels (the
-- document's trait_configuration_counts is an unlabeled sorted list) and stays
-- as it was, like sample_trait, census_trait and sample_locus. Text repeated
-- in smaller tables (parameter names: 17 rows per run, 2.7 MB of 120 on
-- 2,000 demo runs) stays where it is.
--
-- The old table becomes a view of the same name and shape, so queries written
-- for it keep working; sample_config_count and configuration_label are faster.
-- (A view cannot share a name with a table: the table had to be renamed, and
-- the name users know went to the view.) The ledger's rows_written and
-- values_written keep what each load wrote at the time.
-- The space of the old table is free pages until the file is vacuumed; later
-- builds reuse them.

CREATE TABLE configuration_label (
    label_id INTEGER PRIMARY KEY,
    run_id   INTEGER NOT NULL REFERENCES run (run_id),
    label    TEXT NOT NULL                  -- as in the source, e.g. '(3, 0, 12, 7)'
);

-- Trait configurations of a sample: sorted counts of a synchronic sample
-- (label_id NULL), or the labeled counts of a TA sample in map order, zero
-- counts included.
CREATE TABLE sample_config_count (
    sample_id INTEGER NOT NULL REFERENCES sample (sample_id),
    position  INTEGER NOT NULL,
    count     INTEGER,
    label_id  INTEGER REFERENCES configuration_label (label_id),  -- a label of the sample's run
    PRIMARY KEY (sample_id, position)
) WITHOUT ROWID;

-- The labels of the old rows, numbered as a build numbers them: by run, then
-- by the (sample_id, position) where the run first names each.
CREATE TEMP TABLE old_label AS
SELECT s.run_id, c.label, min((c.sample_id << 32) + c.position) AS first_seen
FROM sample_configuration AS c JOIN sample AS s USING (sample_id)
WHERE c.label IS NOT NULL
GROUP BY s.run_id, c.label;

CREATE TEMP TABLE new_label AS
SELECT row_number() OVER (ORDER BY run_id, first_seen) AS label_id, run_id, label
FROM old_label;
CREATE INDEX temp.new_label_by_text ON new_label (run_id, label);

INSERT INTO configuration_label (label_id, run_id, label)
SELECT label_id, run_id, label FROM new_label ORDER BY label_id;

INSERT INTO sample_config_count (sample_id, position, count, label_id)
SELECT c.sample_id, c.position, c.count, n.label_id
FROM sample_configuration AS c
JOIN sample AS s USING (sample_id)
LEFT JOIN new_label AS n ON n.run_id = s.run_id AND n.label = c.label
ORDER BY c.sample_id, c.position;

DROP TABLE temp.new_label;
DROP TABLE temp.old_label;
DROP TABLE sample_configuration;

-- The old table's shape, labels as text.
CREATE VIEW sample_configuration AS
SELECT c.sample_id, c.position, c.count, l.label
FROM sample_config_count AS c
LEFT JOIN configuration_label AS l USING (label_id);
