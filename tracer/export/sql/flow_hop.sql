-- Hop-by-hop flow from seeds, step 2 of 2: one hop. Run it after
-- flow_seed.sql, again and again, until `SELECT COUNT(*) FROM flow` stops
-- growing (at most 50 + 1 times with the default hop limit).
--
-- The frontier is the outputs of the last hop whose branch goes on
-- (branch_end is null); their spenders' outputs with a value are added at
-- the next hop unless already tainted. A transaction gets the hop count of
-- its nearest tainted input, as in `tracer trace`, because hops are added
-- in order. Subqueries stay in WHERE and FROM (Spark SQL allows IN and
-- EXISTS subqueries nowhere else).
INSERT INTO flow
SELECT
  o.txid,
  o.vout,
  o.address,
  o.value_sat,
  o.value_sat AS tainted_sat,
  s.hop,
  o.spent_by_txid,
  CASE
    WHEN x.address IS NOT NULL AND r.txid IS NULL THEN 'hit'
    WHEN o.value_sat < 546 THEN 'dust'
    WHEN t.n_out > 1000 THEN 'wide'
    WHEN o.spent_by_txid IS NULL THEN 'holding'
    WHEN s.hop >= 50 THEN 'limit'
    ELSE NULL
  END AS branch_end
FROM (
  SELECT f.spent_by_txid AS txid, MIN(f.hop) + 1 AS hop
  FROM flow f
  WHERE f.branch_end IS NULL AND f.hop = (SELECT MAX(m.hop) FROM flow m)
  GROUP BY f.spent_by_txid
) s
JOIN txs t ON t.txid = s.txid
JOIN outputs o ON o.txid = s.txid
LEFT JOIN (
  SELECT g.address FROM tags g WHERE g.category = 'exchange' GROUP BY g.address
) x ON x.address = o.address
LEFT JOIN (
  -- seeds' funding transactions: their outputs are never hits
  SELECT f0.txid FROM flow f0 WHERE f0.hop = 0 GROUP BY f0.txid
) r ON r.txid = o.txid
WHERE o.value_sat > 0
  AND NOT EXISTS (SELECT 1 FROM flow e WHERE e.txid = o.txid AND e.vout = o.vout);
