-- Hop-by-hop flow from seeds, step 1 of 2: the seeds' outputs (hop 0).
--
-- Reads the tables of `tracer export graph` (outputs) and two small tables
-- you provide: seeds(address) and tags(address, entity, category). Writes
-- the table flow, one row per tainted output, under the poison model (every
-- output of a transaction with a tainted input is tainted in full), with the
-- limits of `tracer trace --model poison` at its defaults: a branch ends at
-- an output paid to an exchange-tagged address (a hit; not on a seed's own
-- funding transaction), below 546 sat (dust), on a transaction with more than
-- 1,000 outputs (wide), at an unspent output (holding), or after 50 hops
-- (limit). Change the literals 546, 1000, 50 and 'exchange' in both steps to
-- change the limits.
--
-- Plain SQL that DuckDB, Spark SQL (3.x and later) and Trino all run: no
-- recursive CTE (Spark SQL has none before 4.x), no engine functions.
-- Spark 3.x without Hive support: set
-- spark.sql.legacy.createHiveTableByDefault=false so CREATE TABLE makes a
-- data-source table; Trino: a catalog that can create tables (memory, hive,
-- iceberg). Then run flow_hop.sql until it adds no rows.
CREATE TABLE flow AS
SELECT
  o.txid,
  o.vout,
  o.address,
  o.value_sat,
  o.value_sat AS tainted_sat,
  0 AS hop,
  o.spent_by_txid,
  CASE
    WHEN o.value_sat < 546 THEN 'dust'
    WHEN o.spent_by_txid IS NULL THEN 'holding'
    WHEN 0 >= 50 THEN 'limit'
    ELSE NULL
  END AS branch_end
FROM outputs o
WHERE o.address IN (SELECT s.address FROM seeds s);
