-- Warehouse schema, version 7: min and max over loci as the exporter gave
-- them when a per-locus value is NaN (no change of tables).
--
-- The exporter took min and max with Python's built-ins over the per-locus
-- list in locus order: a NaN in first place is the answer, a NaN anywhere else
-- is passed over. Its mean (numpy.average) is NaN as soon as one locus is.
-- Builds before version 7 made min, max and mean all NaN whenever a locus was
-- NaN. This step recomputes those min and max from the per-locus rows, so that
-- no warehouse keeps the old numbers unknowingly. The means stay NaN, which
-- they are by both rules; no other aggregate differs between the two.
--
-- What is recomputed: a statistic whose min, max and mean are all 'NaN', in a
-- census or sample row of a run read from a document (the run's source is not
-- a CSV file: runs known only from CSV files keep what the files gave), and
-- whose per-locus rows hold a value at every locus. A missing per-locus value
-- made the old rule give NULL, not NaN, so such aggregates came from elsewhere
-- (a CSV file filling them in) and are left alone.

CREATE TEMP TABLE nan_census AS
SELECT c.* FROM census AS c JOIN run AS r USING (run_id) JOIN source AS s USING (source_id)
WHERE s.format NOT LIKE 'csv-%'
  AND (c.slatkin_locus_mean = 'NaN' OR c.entropy_locus_mean = 'NaN' OR c.iqv_locus_mean = 'NaN'
       OR c.richness_locus_mean = 'NaN' OR c.kandler_locus_mean = 'NaN'
       OR c.neiman_tf_locus_mean = 'NaN');

CREATE TEMP TABLE nan_sample AS
SELECT x.* FROM sample AS x JOIN run AS r USING (run_id) JOIN source AS s USING (source_id)
WHERE s.format NOT LIKE 'csv-%'
  AND (x.slatkin_locus_mean = 'NaN' OR x.entropy_locus_mean = 'NaN' OR x.iqv_locus_mean = 'NaN'
       OR x.richness_locus_mean = 'NaN' OR x.kandler_locus_mean = 'NaN'
       OR x.neiman_tf_locus_mean = 'NaN');

-- The per-locus values of each statistic the old rule left all NaN.
-- `value` has no type, so each value keeps the one it is stored with.
CREATE TEMP TABLE nan_locus (
    tbl TEXT, key INTEGER, stat TEXT, locus INTEGER, value,
    PRIMARY KEY (tbl, key, stat, locus)
);
INSERT INTO nan_locus
SELECT 'census', run_id, 'slatkin', locus, l.slatkin_exact
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.slatkin_locus_min = 'NaN' AND c.slatkin_locus_max = 'NaN' AND c.slatkin_locus_mean = 'NaN'
UNION ALL
SELECT 'census', run_id, 'entropy', locus, l.shannon_entropy
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.entropy_locus_min = 'NaN' AND c.entropy_locus_max = 'NaN' AND c.entropy_locus_mean = 'NaN'
UNION ALL
SELECT 'census', run_id, 'iqv', locus, l.iqv_diversity
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.iqv_locus_min = 'NaN' AND c.iqv_locus_max = 'NaN' AND c.iqv_locus_mean = 'NaN'
UNION ALL
SELECT 'census', run_id, 'richness', locus, l.richness
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.richness_locus_min = 'NaN' AND c.richness_locus_max = 'NaN'
  AND c.richness_locus_mean = 'NaN'
UNION ALL
SELECT 'census', run_id, 'kandler', locus, l.kandler_remaining
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.kandler_locus_min = 'NaN' AND c.kandler_locus_max = 'NaN' AND c.kandler_locus_mean = 'NaN'
UNION ALL
SELECT 'census', run_id, 'neiman_tf', locus, l.neiman_tf
FROM nan_census AS c JOIN census_locus AS l USING (run_id)
WHERE c.neiman_tf_locus_min = 'NaN' AND c.neiman_tf_locus_max = 'NaN'
  AND c.neiman_tf_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'slatkin', locus, l.slatkin
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.slatkin_locus_min = 'NaN' AND x.slatkin_locus_max = 'NaN' AND x.slatkin_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'entropy', locus, l.entropy
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.entropy_locus_min = 'NaN' AND x.entropy_locus_max = 'NaN' AND x.entropy_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'iqv', locus, l.iqv
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.iqv_locus_min = 'NaN' AND x.iqv_locus_max = 'NaN' AND x.iqv_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'richness', locus, l.richness
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.richness_locus_min = 'NaN' AND x.richness_locus_max = 'NaN'
  AND x.richness_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'kandler', locus, l.kandler_remaining
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.kandler_locus_min = 'NaN' AND x.kandler_locus_max = 'NaN' AND x.kandler_locus_mean = 'NaN'
UNION ALL
SELECT 'sample', sample_id, 'neiman_tf', locus, l.neiman_tf
FROM nan_sample AS x JOIN sample_locus AS l USING (sample_id)
WHERE x.neiman_tf_locus_min = 'NaN' AND x.neiman_tf_locus_max = 'NaN'
  AND x.neiman_tf_locus_mean = 'NaN';

-- The exporter's min and max: NaN when the first locus is NaN, otherwise the
-- least and the greatest number ('NaN' is TEXT: typeof leaves it out).
CREATE TEMP TABLE nan_fix (
    tbl TEXT, stat TEXT, key INTEGER, new_min, new_max,
    PRIMARY KEY (tbl, stat, key)
);
INSERT INTO nan_fix
SELECT tbl, stat, key,
       CASE WHEN first = 'NaN' THEN 'NaN' ELSE low END,
       CASE WHEN first = 'NaN' THEN 'NaN' ELSE high END
FROM (SELECT g.tbl, g.stat, g.key,
             (SELECT f.value FROM nan_locus AS f WHERE f.tbl = g.tbl AND f.key = g.key
              AND f.stat = g.stat ORDER BY f.locus LIMIT 1) AS first,
             min(CASE WHEN typeof(g.value) IN ('integer', 'real') THEN g.value END) AS low,
             max(CASE WHEN typeof(g.value) IN ('integer', 'real') THEN g.value END) AS high
      FROM nan_locus AS g
      GROUP BY g.tbl, g.stat, g.key
      HAVING count(g.value) = count(*));  -- a value at every locus

UPDATE census SET (slatkin_locus_min, slatkin_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'slatkin' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'slatkin');
UPDATE census SET (entropy_locus_min, entropy_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'entropy' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'entropy');
UPDATE census SET (iqv_locus_min, iqv_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'iqv' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'iqv');
UPDATE census SET (richness_locus_min, richness_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'richness' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'richness');
UPDATE census SET (kandler_locus_min, kandler_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'kandler' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'kandler');
UPDATE census SET (neiman_tf_locus_min, neiman_tf_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'census' AND stat = 'neiman_tf' AND key = census.run_id)
WHERE run_id IN (SELECT key FROM nan_fix WHERE tbl = 'census' AND stat = 'neiman_tf');

UPDATE sample SET (slatkin_locus_min, slatkin_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'slatkin' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'slatkin');
UPDATE sample SET (entropy_locus_min, entropy_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'entropy' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'entropy');
UPDATE sample SET (iqv_locus_min, iqv_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'iqv' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'iqv');
UPDATE sample SET (richness_locus_min, richness_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'richness' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'richness');
UPDATE sample SET (kandler_locus_min, kandler_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'kandler' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'kandler');
UPDATE sample SET (neiman_tf_locus_min, neiman_tf_locus_max) = (SELECT new_min, new_max FROM nan_fix
    WHERE tbl = 'sample' AND stat = 'neiman_tf' AND key = sample.sample_id)
WHERE sample_id IN (SELECT key FROM nan_fix WHERE tbl = 'sample' AND stat = 'neiman_tf');

-- An export file read beside the documents gives the exporter's values, so
-- the old ones were recorded as disagreeing with it. A disagreement about a
-- value replaced here now names the new stored value, and goes when the
-- file's value equals it as a build compares them (exactly, or floats within
-- 1e-12 relative; an infinity equals only itself).
CREATE TEMP TABLE nan_disagreement AS
SELECT d.disagreement_id,
       CASE d.column_name WHEN f.stat || '_locus_min' THEN f.new_min ELSE f.new_max END
           AS stored_value
FROM nan_fix AS f
JOIN sample AS x ON f.tbl = 'sample' AND x.sample_id = f.key
JOIN disagreement AS d ON d.table_name = 'sample' AND d.run_id = x.run_id
 AND d.ta_duration IS x.ta_duration AND d.sample_size IS x.sample_size
 AND d.column_name IN (f.stat || '_locus_min', f.stat || '_locus_max')
UNION ALL
SELECT d.disagreement_id,
       CASE d.column_name WHEN f.stat || '_locus_min' THEN f.new_min ELSE f.new_max END
FROM nan_fix AS f
JOIN disagreement AS d ON f.tbl = 'census' AND d.table_name = 'census' AND d.run_id = f.key
 AND d.column_name IN (f.stat || '_locus_min', f.stat || '_locus_max');

UPDATE disagreement SET stored_value = (SELECT n.stored_value FROM nan_disagreement AS n
    WHERE n.disagreement_id = disagreement.disagreement_id)
WHERE disagreement_id IN (SELECT disagreement_id FROM nan_disagreement);

DELETE FROM disagreement
WHERE disagreement_id IN (SELECT disagreement_id FROM nan_disagreement)
  AND (stored_value IS file_value
       OR typeof(stored_value) IN ('integer', 'real') AND typeof(file_value) IN ('integer', 'real')
          AND NOT (typeof(stored_value) = 'integer' AND typeof(file_value) = 'integer')
          AND abs(stored_value) < 9e999 AND abs(file_value) < 9e999
          AND abs(stored_value - file_value) <= 1e-12 * max(abs(stored_value), abs(file_value)));

DROP TABLE nan_disagreement;
DROP TABLE nan_fix;
DROP TABLE nan_locus;
DROP TABLE nan_sample;
DROP TABLE nan_census;
