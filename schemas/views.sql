-- Views, dropped and recreated on every build.
-- The four *_data views reproduce the export files of ctmixtures'
-- analytics/ctmixtures-export-data.py: same columns, same order, one row per
-- the same grain. SQLite names the repeated `network_class` of
-- simulation_data `network_class:1`; `warehouse export` writes the original
-- header.

DROP VIEW IF EXISTS run_parameters;
DROP VIEW IF EXISTS simulation_data;
DROP VIEW IF EXISTS population_data;
DROP VIEW IF EXISTS sampled_data;
DROP VIEW IF EXISTS tasampled_data;
DROP VIEW IF EXISTS configuration_trait;

-- One row per run, one column per parameter.
CREATE VIEW run_parameters AS
SELECT
    run_id,
    max(CASE name WHEN 'sample_time' THEN value END)              AS sample_time,
    max(CASE name WHEN 'script_filename' THEN value END)          AS script_filename,
    max(CASE name WHEN 'full_command_line' THEN value END)        AS full_command_line,
    max(CASE name WHEN 'random_seed' THEN value END)              AS random_seed,
    max(CASE name WHEN 'interaction_rule_classes' THEN value END) AS interaction_rule_classes,
    max(CASE name WHEN 'pop_class' THEN value END)                AS pop_class,
    max(CASE name WHEN 'network_class' THEN value END)            AS network_class,
    max(CASE name WHEN 'trait_class' THEN value END)              AS trait_class,
    max(CASE name WHEN 'innovation_class' THEN value END)         AS innovation_class,
    max(CASE name WHEN 'num_features' THEN value END)             AS num_features,
    max(CASE name WHEN 'init_traits_per_feature' THEN value END)  AS init_traits_per_feature,
    max(CASE name WHEN 'conformism_strength' THEN value END)      AS conformism_strength,
    max(CASE name WHEN 'anticonformism_strength' THEN value END)  AS anticonformism_strength,
    max(CASE name WHEN 'innovation_rate' THEN value END)          AS innovation_rate,
    max(CASE name WHEN 'sample_size' THEN value END)              AS sample_size,
    max(CASE name WHEN 'population_size' THEN value END)          AS population_size,
    max(CASE name WHEN 'kandler_interval' THEN value END)         AS kandler_interval,
    -- CSV exports give the interval in generations only (docs/csv-eras.md)
    max(CASE name WHEN 'kandler_interval_generations' THEN value END) AS kandler_interval_generations
FROM parameter
GROUP BY run_id;

CREATE VIEW simulation_data AS
SELECT
    r.simulation_run_id,
    r.model_class_label,
    p.network_class,
    p.interaction_rule_classes,
    p.innovation_class,
    p.pop_class,
    p.network_class,
    p.trait_class,
    p.random_seed,
    p.num_features,
    p.init_traits_per_feature,
    p.script_filename,
    p.full_command_line,
    p.population_size,
    p.innovation_rate,
    p.conformism_strength,
    p.anticonformism_strength,
    -- stored in ticks, exported in generations (integer division); runs known
    -- only from a CSV simulation file have the generations alone
    coalesce(p.kandler_interval / p.population_size, p.kandler_interval_generations)
        AS kandler_interval
FROM run AS r
JOIN run_parameters AS p USING (run_id)
ORDER BY r.run_id;

CREATE VIEW population_data AS
SELECT
    r.simulation_run_id,
    r.model_class_label,
    c.num_trait_configurations,
    c.configuration_slatkin,
    (SELECT value FROM parameter WHERE run_id = r.run_id AND name = 'innovation_rate') AS innovation_rate,
    c.slatkin_locus_max,  c.slatkin_locus_min,  c.slatkin_locus_mean,
    c.entropy_locus_max,  c.entropy_locus_min,  c.entropy_locus_mean,
    c.iqv_locus_max,      c.iqv_locus_min,      c.iqv_locus_mean,
    c.richness_locus_max, c.richness_locus_min, c.richness_locus_mean,
    c.kandler_locus_max,  c.kandler_locus_min,  c.kandler_locus_mean,
    c.config_entropy,
    c.config_iqv,
    c.config_neiman_tf,
    c.neiman_tf_locus_min, c.neiman_tf_locus_max, c.neiman_tf_locus_mean
FROM run AS r
JOIN census AS c USING (run_id)
ORDER BY r.run_id;

CREATE VIEW sampled_data AS
SELECT
    r.simulation_run_id,
    r.model_class_label,
    (SELECT value FROM parameter WHERE run_id = r.run_id AND name = 'innovation_rate') AS innovation_rate,
    s.sample_size,
    s.config_slatkin     AS config_slatkin_ssize,
    s.num_configurations AS num_configurations_ssize,
    s.richness_locus_min, s.richness_locus_max, s.richness_locus_mean,
    s.slatkin_locus_min,  s.slatkin_locus_max,  s.slatkin_locus_mean,
    s.entropy_locus_min,  s.entropy_locus_max,  s.entropy_locus_mean,
    s.iqv_locus_min,      s.iqv_locus_max,      s.iqv_locus_mean
FROM sample AS s
JOIN run AS r USING (run_id)
WHERE s.ta_duration IS NULL
ORDER BY s.run_id, s.sample_size;

CREATE VIEW tasampled_data AS
SELECT
    r.simulation_run_id,
    r.model_class_label,
    (SELECT value FROM parameter WHERE run_id = r.run_id AND name = 'innovation_rate') AS innovation_rate,
    s.ta_duration,
    s.sample_size,
    s.config_slatkin      AS config_slatkin_ta_ssize,
    s.num_configurations  AS num_configurations_ta_ssize,
    s.config_iqv          AS config_iqv_ta_ssize,
    s.config_entropy      AS config_entropy_ta_ssize,
    s.richness_locus_min  AS richness_locus_min_tassize,
    s.richness_locus_max  AS richness_locus_max_tassize,
    s.richness_locus_mean AS richness_locus_mean_tassize,
    s.entropy_locus_min   AS entropy_locus_min_tassize,
    s.entropy_locus_max   AS entropy_locus_max_tassize,
    s.entropy_locus_mean  AS entropy_locus_mean_tassize,
    s.iqv_locus_min       AS iqv_locus_min_tassize,
    s.iqv_locus_max       AS iqv_locus_max_tassize,
    s.iqv_locus_mean      AS iqv_locus_mean_tassize,
    s.slatkin_locus_min   AS slatkin_locus_min_tassize,
    s.slatkin_locus_max   AS slatkin_locus_max_tassize,
    s.slatkin_locus_mean  AS slatkin_locus_mean_tassize,
    s.kandler_locus_min   AS kandler_locus_min_tassize,
    s.kandler_locus_max   AS kandler_locus_max_tassize,
    s.kandler_locus_mean  AS kandler_locus_mean_tassize,
    s.config_neiman_tf    AS config_neiman_tf_tassize,
    s.neiman_tf_locus_min AS neiman_tf_locus_min_tassize,
    s.neiman_tf_locus_max AS neiman_tf_locus_max_tassize,
    s.neiman_tf_locus_mean AS neiman_tf_locus_mean_tassize
FROM sample AS s
JOIN run AS r USING (run_id)
WHERE s.ta_duration IS NOT NULL
ORDER BY s.run_id, s.ta_duration, s.sample_size;

-- The trait id at each locus of a configuration label: '(3, 0, 12, 7)' gives
-- (locus 0, trait 3), (1, 0), (2, 12), (3, 7). Computed from the text when
-- read, about 1 s per million labels; a label that is not a tuple of numbers
-- has no rows here.
CREATE VIEW configuration_trait AS
SELECT l.label_id, l.run_id, t.key AS locus, t.value AS trait
FROM (SELECT label_id, run_id,
             '[' || rtrim(substr(label, 2, length(label) - 2), ',') || ']' AS traits
      FROM configuration_label WHERE label LIKE '(%)') AS l,
     json_each(CASE WHEN json_valid(l.traits) THEN l.traits ELSE '[]' END) AS t;
