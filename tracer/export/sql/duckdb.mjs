// Runs the recipes with DuckDB (npm @duckdb/node-api) over the files of
// `tracer export graph --out DIR`, and prints one JSON object:
// {hops, flow: [...], exposure: [...], clusters: [...]}.
//
//   node duckdb.mjs DIR SEEDS.csv TAGS.csv [CLUSTERS.parquet]
//
// SEEDS.csv has a header and an address column; TAGS.csv the columns
// address, entity, category; CLUSTERS.parquet is `tracer export clusters`
// (cluster_sizes.sql runs only with it). Any engine can drive the recipes the same way:
// make the tables txs, inputs, outputs, seeds and tags, run flow_seed.sql,
// run flow_hop.sql until flow stops growing, then query (exposure.sql).
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const recipe = (name) => readFileSync(join(here, name), 'utf8');
const [dir, seeds, tags, clusters] = process.argv.slice(2);
if (!tags) {
  console.error('usage: node duckdb.mjs DIR SEEDS.csv TAGS.csv [CLUSTERS.parquet]');
  process.exit(2);
}
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const rows = async (sql) => (await c.runAndReadAll(sql)).getRowObjectsJson();
const count = async () => Number((await rows('SELECT COUNT(*) AS n FROM flow'))[0].n);

for (const t of ['txs', 'inputs', 'outputs']) {
  await c.run(`CREATE VIEW ${t} AS SELECT * FROM read_parquet(${lit(join(dir, t + '.parquet'))})`);
}
await c.run(`CREATE VIEW seeds AS SELECT * FROM read_csv(${lit(seeds)}, header = true, all_varchar = true)`);
await c.run(`CREATE VIEW tags AS SELECT * FROM read_csv(${lit(tags)}, header = true, all_varchar = true)`);

if (clusters) {
  await c.run(`CREATE VIEW clusters AS SELECT * FROM read_parquet(${lit(clusters)})`);
}

await c.run(recipe('flow_seed.sql'));
let hops = 0;
for (let n = await count(), prev = -1; n !== prev; prev = n, n = await count()) {
  await c.run(recipe('flow_hop.sql'));
  hops++;
}
const out = {
  hops,
  flow: await rows('SELECT txid, vout, address, value_sat, tainted_sat, hop, branch_end FROM flow ORDER BY txid, vout'),
  exposure: await rows(recipe('exposure.sql')),
  clusters: clusters ? await rows(recipe('cluster_sizes.sql')) : [],
};
console.log(JSON.stringify(out));
