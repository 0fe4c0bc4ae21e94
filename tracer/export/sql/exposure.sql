-- Exposure of deposit addresses: the tainted funds that reached each
-- exchange-tagged address, after flow_seed.sql and flow_hop.sql have built
-- the table flow. One row per address: its entity, the hits (tainted
-- outputs paid to it), the tainted amount in sat, the fewest hops from a
-- seed and the first and last heights. Runs on DuckDB, Spark SQL and Trino.
SELECT
  x.entity,
  f.address,
  COUNT(*) AS hits,
  SUM(f.tainted_sat) AS tainted_sat,
  MIN(f.hop) AS min_hops,
  MIN(t.height) AS first_height,
  MAX(t.height) AS last_height
FROM flow f
JOIN txs t ON t.txid = f.txid
JOIN (
  SELECT g.address, MIN(g.entity) AS entity FROM tags g WHERE g.category = 'exchange' GROUP BY g.address
) x ON x.address = f.address
WHERE f.branch_end = 'hit'
GROUP BY x.entity, f.address
ORDER BY tainted_sat DESC, f.address;
