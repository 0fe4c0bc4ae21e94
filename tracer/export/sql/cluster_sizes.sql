-- Cluster sizes: one row per entity (cluster) of `tracer export clusters`
-- (table clusters: address, entity, label), largest first: its addresses
-- and its label ('' when none). Addresses in no cluster are not in the
-- table: each is an entity of one address. Runs on DuckDB, Spark SQL and
-- Trino; for the size distribution, group this by addresses.
SELECT
  c.entity,
  COUNT(*) AS addresses,
  MAX(c.label) AS label
FROM clusters c
GROUP BY c.entity
ORDER BY addresses DESC, c.entity;
