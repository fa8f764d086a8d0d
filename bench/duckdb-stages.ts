/**
 * The features, build and evaluate stages written as DuckDB SQL: the reference the whole-pipeline
 * bench (bench/pipeline.ts) runs beside our stage CLIs, on the same inputs, in the same run.
 *
 *   npx tsx bench/duckdb-stages.ts --stage features|build|evaluate --data-dir <DATA_DIR> --out <dir>
 *       [--threads 2] [--memory-limit 4GB] [--parts 1] [--max-temp 20GB]
 *   npx tsx bench/duckdb-stages.ts --check features|build|evaluate --data-dir <DATA_DIR> --out <dir> [--parts 1]
 *
 * `--max-temp` caps DuckDB's spill files (its `max_temp_directory_size`; by default 90% of the free disk).
 * `--parts K` runs features, and build's per-customer steps, as K queries, each over the customers
 * whose DuckDB hash of the key is i mod K (every window is per customer, so the rows are the same):
 * features are written to `part=<i>/`, build's master table as K date ranges (see buildStage).
 * DuckDB's temporary tables and spill files then hold a K-th of the data: at 100M rows one query
 * spilled more than the disk beside our data holds. `--check` compares features part by part.
 *
 * Each stage reads exactly what our stage reads in `--data-dir` (features: the lake; build: the
 * feature store; evaluate: the current master table and the registry's baselines) and writes under
 * `--out`, so a stage's output can be compared with ours row by row. `--stage` prints one line
 * `seconds=… cpu_seconds=… peak_rss_mb=… rows_in=… rows_out=…` (the process's own high-water mark,
 * DuckDB's memory included: it runs in this process). `--check` compares a finished stage's output
 * with ours and exits 1 on any difference (it is not timed).
 *
 * What is and is not the same work is listed in the notes of docs/bench-pipeline.md; in short:
 * - features: every one of the 38 features, the same point-in-time rules, Hive-partitioned Parquet.
 * - build: quality aggregates, flag, snapshots and forecast target, splits and folds, single-feature
 *   AUCs, profile, master.parquet in canonical order. Not: the greedy stratified split (a hash split
 *   instead), feature selection (correlation, mutual information, identity-proxy grouped CV), the
 *   content hash, the report.
 * - evaluate: the registered baselines scored in SQL (their scorers are one expression each) and
 *   their metrics on test and holdout with customer-bootstrap intervals, reliability and lift bins.
 *   Not: scoring the candidate network and the champion, thresholds, paired differences, the learning
 *   curve (which trains), per-customer spread, the gate, the report and its plots.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { brazilianHolidays, dataLayout, isoFromEpochDay, parquetFileSet } from '@bolsillo/core';
import { FEATURE_DECLARATIONS, type FeatureDeclaration } from '@bolsillo/schema';

const ROOT = path.resolve(__dirname, '..');
const DECLS = FEATURE_DECLARATIONS as readonly FeatureDeclaration[];
const NUMERIC = DECLS.filter((d) => d.dtype === 'number' || d.dtype === 'integer').map((d) => d.name);
const CATEGORICAL = DECLS.filter((d) => d.dtype === 'boolean' || d.dtype === 'category').map((d) => d.name);

interface FeatureParamsFile {
  essentialGroups: string[];
  homeCountry: string;
  revengeThreshold: number;
}
interface BuildParamsFile {
  target: { threshold: number; essential_groups: string[]; horizon_days: number };
  quality: {
    amount_range: { min: number; max: number };
    credit_limit_range: { min: number; max: number };
    age_range: { min: number; max: number };
    allowed_sex: string[];
  };
  profile: { bins: number };
  split: { seed: number; sizes: { calibration: number; test: number; holdout: number }; folds: number };
}
interface EvaluateParamsFile {
  seed: number;
  bootstrap: { iterations: number; confidence: number; max_rows: number };
  reliability_bins: number;
}

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;
const params = <T>(stage: string): T => readJson<T>(path.join(ROOT, 'packages', stage, 'params.json'));
/** A SQL string literal. */
const lit = (s: string): string => `'${s.replace(/'/g, "''")}'`;
/** DuckDB's scan of our master table: master.parquet and its continuations (parquetFileSet). */
const masterScan = (file: string): string => `read_parquet([${parquetFileSet(file).map(lit).join(', ')}])`;
const list = (xs: readonly string[]): string => xs.map(lit).join(', ');
const q = (name: string): string => `"${name}"`;

async function open(
  threads: number,
  memoryLimit: string,
  tempDir: string,
  maxTemp: string | undefined,
): Promise<DuckDBConnection> {
  const db = await DuckDBInstance.create(':memory:', {
    threads: String(threads),
    memory_limit: memoryLimit,
    temp_directory: tempDir,
    preserve_insertion_order: 'false',
    // A cap on the spill files, so a stage running beside ours cannot fill the disk both write to.
    ...(maxTemp ? { max_temp_directory_size: maxTemp } : {}),
  });
  return db.connect();
}

async function one<T>(con: DuckDBConnection, sql: string): Promise<T> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS()[0] as T;
}

async function rows<T>(con: DuckDBConnection, sql: string): Promise<T[]> {
  const r = await con.runAndReadAll(sql);
  return r.getRowObjectsJS() as T[];
}

/** Upper case, no accents, trimmed, single spaces; NULL when blank: the kernel's place comparison. */
const place = (col: string): string =>
  `CASE WHEN trim(${col}) = '' THEN NULL ELSE upper(regexp_replace(trim(strip_accents(${col})), '\\s+', ' ', 'g')) END`;

const lakeGlob = (dataDir: string): string => path.join(dataLayout(dataDir).lake, '*', '*.parquet');
const storeGlob = (dataDir: string): string => path.join(dataLayout(dataDir).featureStore, '*', '*.parquet');

/**
 * Features: the lake → every declared feature per transaction → Hive-partitioned Parquet. The
 * windows run over per-customer-day aggregates (RANGE frames on the epoch day), and each row adds
 * its own day's running aggregates (a ROWS frame in (source_file, source_line) order), which is the
 * kernel's "up to and including this transaction" with the day's later rows left out.
 */
async function featuresStage(
  con: DuckDBConnection,
  dataDir: string,
  out: string,
  parts: number,
): Promise<[number, number]> {
  const p = params<FeatureParamsFile>('features');
  const span = await one<{ lo: string; hi: string }>(
    con,
    `SELECT min(date)::VARCHAR AS lo, max(date)::VARCHAR AS hi FROM read_parquet(${lit(lakeGlob(dataDir))}, hive_partitioning = true)`,
  );
  // The holiday calendar is a dimension table, as a warehouse would hold it (core's rules, per year).
  const holidays: string[] = [];
  for (let y = Number(span.lo.slice(0, 4)); y <= Number(span.hi.slice(0, 4)); y++)
    for (const d of brazilianHolidays(y)) holidays.push(`(DATE ${lit(isoFromEpochDay(d))})`);
  await con.run(`CREATE OR REPLACE TEMP TABLE holidays AS SELECT * FROM (VALUES ${holidays.join(', ')}) h(d)`);
  const essential = list(p.essentialGroups);
  const outDir = path.join(out, 'feature-store');
  fs.rmSync(outDir, { recursive: true, force: true });
  if (parts > 1) fs.mkdirSync(outDir, { recursive: true });
  let total = 0;
  for (let part = 0; part < parts; part++) {
    if (parts > 1) console.error(`[duckdb features] part ${part + 1} of ${parts}`);
    total += await featuresPart(con, dataDir, parts > 1 ? { part, parts } : null, outDir, essential, p);
  }
  return [total, total];
}

/** The customers of part i of K (DuckDB's hash of the key), as a SQL condition. */
const partFilter = (col: string, part: { part: number; parts: number }): string =>
  `hash(${col}) % ${part.parts} = ${part.part}`;

/** Features of one part's customers (all when `part` is null), written under `outDir`; the rows written. */
async function featuresPart(
  con: DuckDBConnection,
  dataDir: string,
  part: { part: number; parts: number } | null,
  outDir: string,
  essential: string,
  p: FeatureParamsFile,
): Promise<number> {
  await con.run(`
    CREATE OR REPLACE TEMP TABLE t AS
    SELECT txn_id, customer_key, date::DATE AS date, source_file, source_line, account_cohort, city, state, age, sex,
           credit_limit, available_limit, amount, merchant_group, merchant_city, merchant_country,
           (date::DATE - DATE '1970-01-01') AS day,
           CASE WHEN credit_limit > 0 THEN available_limit::DOUBLE / credit_limit END AS ratio,
           coalesce(amount, 0) AS a,
           merchant_group NOT IN (${essential}) AS ne,
           coalesce(merchant_group NOT IN (${essential}) AND available_limit::DOUBLE / nullif(credit_limit, 0) < ${p.revengeThreshold}, false) AS fl
    FROM read_parquet(${lit(lakeGlob(dataDir))}, hive_partitioning = true)
    ${part ? `WHERE ${partFilter('customer_key', part)}` : ''}`);
  // Per customer-day totals, then the earlier days of each window (6 and 29 days before).
  await con.run(`
    CREATE OR REPLACE TEMP TABLE prior AS
    WITH d AS (
      SELECT customer_key, day, count(*) AS n, sum(a) AS s, sum(CASE WHEN ne THEN a ELSE 0 END) AS nes,
             min(ratio) AS rmin, sum(ratio) AS rsum, count(ratio) AS rcnt, count_if(fl) AS fln
      FROM t GROUP BY customer_key, day)
    SELECT customer_key, day,
           sum(n) OVER w7 AS n7, sum(s) OVER w7 AS s7, min(rmin) OVER w7 AS rmin7, sum(fln) OVER w7 AS fl7,
           sum(n) OVER w30 AS n30, sum(s) OVER w30 AS s30, sum(nes) OVER w30 AS nes30, sum(rsum) OVER w30 AS rsum30,
           sum(rcnt) OVER w30 AS rcnt30, sum(fln) OVER w30 AS fl30, count(*) OVER w30 AS days30,
           max(CASE WHEN fln > 0 THEN day END) OVER w30 AS flday30
    FROM d
    WINDOW w7 AS (PARTITION BY customer_key ORDER BY day RANGE BETWEEN 6 PRECEDING AND 1 PRECEDING),
           w30 AS (PARTITION BY customer_key ORDER BY day RANGE BETWEEN 29 PRECEDING AND 1 PRECEDING)`);
  const dom = 'dayofmonth(t.date)';
  const dow = 'dayofweek(t.date)';
  await con.run(`
    CREATE OR REPLACE TEMP TABLE f AS
    WITH r AS (
      SELECT t.*,
             count(*) OVER wd AS day_n, sum(a) OVER wd AS day_s, min(ratio) OVER wd AS day_rmin,
             sum(CASE WHEN ne THEN a ELSE 0 END) OVER wd AS day_nes, sum(ratio) OVER wd AS day_rsum,
             count(ratio) OVER wd AS day_rcnt, count_if(fl) OVER wd AS day_fl,
             lag(day) OVER wc AS prev_day,
             sum(amount) OVER wp / count(amount) OVER wp AS prev_mean
      FROM t
      WINDOW wd AS (PARTITION BY customer_key, day ORDER BY source_file, source_line ROWS UNBOUNDED PRECEDING),
             wc AS (PARTITION BY customer_key ORDER BY day, source_file, source_line),
             wp AS (PARTITION BY customer_key ORDER BY day, source_file, source_line
                    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))
    SELECT t.txn_id, t.customer_key, t.date,
           t.amount, ln(1 + t.amount) AS log_amount, t.amount IS NULL AS amount_missing,
           ${dow}::INTEGER AS day_of_week, ${dom}::INTEGER AS day_of_month, month(t.date)::INTEGER AS month,
           ${dow} IN (0, 6) AS is_weekend, ${dom} <= 3 AS is_month_start,
           ${dom} > dayofmonth(last_day(t.date)) - 3 AS is_month_end,
           t.date IN (SELECT d FROM holidays) AS is_holiday,
           t.merchant_group, NOT t.ne AS is_essential,
           coalesce(${place('t.merchant_country')} <> ${place(lit(p.homeCountry))}, false) AS merchant_abroad,
           coalesce(${place('t.merchant_city')} IS DISTINCT FROM ${place('t.city')} AND ${place('t.merchant_city')} IS NOT NULL, false) AS merchant_city_differs,
           (year(t.date) * 12 + month(t.date) - (left(t.account_cohort, 4)::INTEGER * 12 + right(t.account_cohort, 2)::INTEGER))::INTEGER AS account_age_months,
           t.age, t.sex, t.state, t.credit_limit::DOUBLE AS credit_limit, t.ratio AS available_ratio,
           day_rmin AS day_min_available_ratio, day_n::INTEGER AS day_count, day_s AS day_sum,
           (coalesce(n7, 0) + day_n)::INTEGER AS hist_count_7d, coalesce(s7, 0) + day_s AS hist_sum_7d,
           (coalesce(n30, 0) + day_n)::INTEGER AS hist_count_30d, coalesce(s30, 0) + day_s AS hist_sum_30d,
           CASE WHEN coalesce(s30, 0) + day_s > 0 THEN (coalesce(nes30, 0) + day_nes) / (coalesce(s30, 0) + day_s) END AS hist_nonessential_share_30d,
           (coalesce(days30, 0) + 1)::INTEGER AS active_days_30d,
           day_fl::INTEGER AS revenge_count_today,
           (coalesce(fl7, 0) + day_fl)::INTEGER AS revenge_count_7d,
           (coalesce(fl30, 0) + day_fl)::INTEGER AS revenge_count_30d,
           CASE WHEN day_fl > 0 THEN 0 ELSE t.day - flday30 END::DOUBLE AS days_since_revenge,
           least(rmin7, day_rmin) AS min_available_ratio_7d,
           (coalesce(rsum30, 0) + coalesce(day_rsum, 0)) / nullif(coalesce(rcnt30, 0) + day_rcnt, 0) AS mean_available_ratio_30d,
           day_rmin - (coalesce(rsum30, 0) + coalesce(day_rsum, 0)) / nullif(coalesce(rcnt30, 0) + day_rcnt, 0) AS available_ratio_trend_30d,
           (t.day - prev_day)::DOUBLE AS days_since_prev,
           CASE WHEN prev_mean <> 0 THEN t.amount / prev_mean END AS amount_to_running_mean
    FROM r AS t LEFT JOIN prior USING (customer_key, day)`);
  const dir = part ? path.join(outDir, `part=${part.part}`) : outDir;
  await con.run(`COPY f TO ${lit(dir)} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (date), OVERWRITE_OR_IGNORE)`);
  const n = await one<{ n: bigint }>(con, 'SELECT count(*) AS n FROM f');
  await con.run('DROP TABLE t; DROP TABLE prior; DROP TABLE f');
  return Number(n.n);
}

/** A split bucket by a hash of the customer key: cumulative shares in SPLITS order. */
function splitCase(sizes: BuildParamsFile['split']['sizes'], seed: number): string {
  const train = 1 - sizes.calibration - sizes.test - sizes.holdout;
  const u = `(hash(customer_key || ${lit(String(seed))}) % 1000000) / 1000000.0`;
  const c1 = train;
  const c2 = c1 + sizes.calibration;
  const c3 = c2 + sizes.test;
  return `CASE WHEN ${u} < ${c1} THEN 'train' WHEN ${u} < ${c2} THEN 'calibration' WHEN ${u} < ${c3} THEN 'test' ELSE 'holdout' END`;
}

/**
 * Build: the feature store → quality aggregates, flag, snapshots and forecast target, hash splits
 * and folds, single-feature AUCs on train, profile, the master table in canonical order (date, txn_id).
 * The per-customer work (duplicate rows, flag, snapshots, target, master rows) runs once per part of
 * the customers (`--parts`), each part's master rows written sorted; the whole-table steps (splits,
 * AUCs, profile) then read those files a few columns at a time, and the master table is rewritten
 * from them as date ranges in canonical order, `master/part-<j>.parquet` read in name order (one
 * part: `master.parquet`). Spill then stays near a part's share of the table.
 */
async function buildStage(
  con: DuckDBConnection,
  dataDir: string,
  out: string,
  parts: number,
): Promise<[number, number]> {
  const p = params<BuildParamsFile>('build');
  const essential = list(p.target.essential_groups);
  const h = p.target.horizon_days;
  await con.run(
    `CREATE OR REPLACE TEMP VIEW fs AS SELECT * REPLACE (date::DATE AS date) FROM read_parquet(${lit(storeGlob(dataDir))}, hive_partitioning = true)`,
  );
  // Quality: one pass of aggregates for the row-level expectations; txn_id uniqueness over the whole table.
  const cols = ['txn_id', 'customer_key', 'date', ...DECLS.map((d) => d.name)];
  const qa = `${cols.map((c) => `count(${q(c)}) AS ${q(`nn_${c}`)}`).join(', ')},
    count_if(credit_limit NOT BETWEEN ${p.quality.credit_limit_range.min} AND ${p.quality.credit_limit_range.max}) AS bad_credit_limit,
    count_if(amount NOT BETWEEN ${p.quality.amount_range.min} AND ${p.quality.amount_range.max}) AS bad_amount,
    count_if(age NOT BETWEEN ${p.quality.age_range.min} AND ${p.quality.age_range.max}) AS bad_age,
    count_if(day_of_week NOT BETWEEN 0 AND 6) AS bad_dow, count_if(day_of_month NOT BETWEEN 1 AND 31) AS bad_dom,
    count_if(month NOT BETWEEN 1 AND 12) AS bad_month, count_if(available_ratio NOT BETWEEN 0 AND 10) AS bad_ratio,
    count_if(hist_nonessential_share_30d NOT BETWEEN 0 AND 1) AS bad_share,
    count_if(days_since_prev NOT BETWEEN 0 AND 3660) AS bad_prev, count_if(sex NOT IN (${list(p.quality.allowed_sex)})) AS bad_sex,
    max(date)::VARCHAR AS data_end, count(*) AS rows`;
  const quality = await one<Record<string, unknown>>(con, `SELECT ${qa} FROM fs`);
  const dupTxn = await one<{ n: bigint }>(con, 'SELECT count(*) - count(DISTINCT txn_id) AS n FROM fs');
  const dataEnd = `DATE ${lit(String(quality.data_end))}`;
  const dupCols = ['customer_key', 'date', ...DECLS.filter((d) => d.group === 'transaction').map((d) => d.name)];
  const foldOf = `(hash(customer_key || ${lit(String(p.split.seed + 1))}) % ${p.split.folds})::INTEGER`;
  // Counts summed over the parts: exact, since a customer's rows are all in one part.
  const sums: Record<string, number> = {};
  const add = (r: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(r)) sums[k] = (sums[k] ?? 0) + Number(v);
  };
  const partsDir = path.join(out, 'master-parts');
  fs.rmSync(partsDir, { recursive: true, force: true });
  fs.mkdirSync(partsDir, { recursive: true });
  for (let part = 0; part < parts; part++) {
    if (parts > 1) console.error(`[duckdb build] part ${part + 1} of ${parts}`);
    const where = parts > 1 ? `WHERE ${partFilter('customer_key', { part, parts })}` : '';
    add(
      await one(
        con,
        `SELECT count(*) AS duplicate_groups FROM (SELECT ${dupCols.map(q).join(', ')}, count(*) AS k FROM fs ${where} GROUP BY ALL HAVING k > 1)`,
      ),
    );
    // Flag of every transaction (-1: no usable ratio), and per customer-day whether any row is flagged.
    await con.run(`
      CREATE OR REPLACE TEMP TABLE flagged AS
      SELECT customer_key, date, txn_id, day_count,
             CASE WHEN NOT coalesce(credit_limit > 0, false) OR available_ratio IS NULL OR NOT isfinite(available_ratio) THEN -1
                  WHEN merchant_group NOT IN (${essential}) AND available_ratio < ${p.target.threshold} THEN 1 ELSE 0 END AS flag
      FROM fs ${where}`);
    add(
      await one(
        con,
        'SELECT count_if(flag = 1) AS flagged, count_if(flag = 0) AS not_flagged, count_if(flag = -1) AS excluded FROM flagged',
      ),
    );
    // Snapshot = the customer's last row of the day (largest day_count); target = a flagged row on d+1 … d+H.
    await con.run(`
      CREATE OR REPLACE TEMP TABLE labels AS
      WITH cd AS (
        SELECT customer_key, date, arg_max(txn_id, day_count) AS txn_id, max(flag = 1)::INTEGER AS any_flag
        FROM flagged GROUP BY customer_key, date),
      w AS (
        SELECT *, max(any_flag) OVER (PARTITION BY customer_key ORDER BY date
                                      RANGE BETWEEN INTERVAL 1 DAY FOLLOWING AND INTERVAL ${h} DAY FOLLOWING) AS later
        FROM cd)
      SELECT customer_key, txn_id, date,
             CASE WHEN date + INTERVAL ${h} DAY > ${dataEnd} THEN NULL ELSE coalesce(later, 0) = 1 END AS y
      FROM w`);
    add(
      await one(
        con,
        `SELECT count(*) AS snapshots, count_if(y IS NULL) AS censored, count_if(y) AS positives, count_if(NOT y) AS negatives,
                count(DISTINCT customer_key) FILTER (y IS NOT NULL) AS customers, count(DISTINCT customer_key) FILTER (y) AS positive_customers
         FROM labels`,
      ),
    );
    await con.run(`
      COPY (
        SELECT *, CASE WHEN split = 'train' THEN ${foldOf} ELSE -1 END AS fold FROM (
          SELECT fs.* REPLACE (fs.date::VARCHAR AS date), labels.y AS revenge_in_horizon, fs.customer_key AS "group",
                 ${splitCase(p.split.sizes, p.split.seed)} AS split
          FROM fs JOIN (SELECT txn_id, y FROM labels WHERE y IS NOT NULL) labels USING (txn_id) ${where})
        ORDER BY date, txn_id)
      TO ${lit(path.join(partsDir, `part-${part}.parquet`))} (FORMAT parquet, COMPRESSION snappy)`);
    await con.run('DROP TABLE flagged; DROP TABLE labels');
  }
  const m = `read_parquet(${lit(path.join(partsDir, '*.parquet'))})`;
  const splits = await rows<Record<string, unknown>>(
    con,
    `SELECT split, count(*) AS rows, count_if(revenge_in_horizon) AS positives, count(DISTINCT "group") AS groups FROM ${m} GROUP BY split ORDER BY split`,
  );
  // Leakage: every numeric and boolean feature's AUC against the target on train (rank formula, ties halved).
  const aucCols = [...NUMERIC, ...DECLS.filter((d) => d.dtype === 'boolean').map((d) => d.name)].sort();
  const leakage: Record<string, unknown>[] = [];
  for (const c of aucCols) {
    const r = await one<{ auc: number }>(
      con,
      `WITH g AS (SELECT ${q(c)}::DOUBLE AS x, count_if(revenge_in_horizon) AS pos, count_if(NOT revenge_in_horizon) AS neg
                  FROM ${m} WHERE split = 'train' GROUP BY x),
       c AS (SELECT *, sum(pos) OVER (ORDER BY x DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS above FROM g)
       SELECT sum(neg * (coalesce(above, 0) + pos / 2.0)) / (sum(pos) * sum(neg)) AS auc FROM c`,
    );
    leakage.push({ feature: c, auc: r.auc });
  }
  // Profile: count, missing, mean, std, min, max, quantiles, equal-frequency edges and bin counts; frequencies.
  const qs = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99];
  const bins = p.profile.bins;
  const edgesQ = Array.from({ length: bins + 1 }, (_, b) => b / bins);
  const profile: Record<string, unknown> = {};
  const stats: Record<string, unknown> = {};
  for (const c of NUMERIC)
    stats[c] = (
      await one<{ s: unknown }>(
        con,
        `SELECT struct_pack(count := count(*), missing := count(*) - count(${q(c)}), mean := avg(${q(c)}), std := stddev_samp(${q(c)}),
          min := min(${q(c)}), max := max(${q(c)}), quantiles := quantile_cont(${q(c)}, [${qs.join(', ')}]),
          edges := quantile_cont(${q(c)}, [${edgesQ.join(', ')}])) AS s FROM ${m}`,
      )
    ).s;
  const edges: Record<string, number[]> = {};
  for (const c of NUMERIC) {
    const s = stats[c] as { edges: number[] | null };
    const e: number[] = [];
    for (const v of s.edges ?? []) if (e.length === 0 || v > e[e.length - 1]!) e.push(v);
    if (e.length === 1) e.push(e[0]!);
    edges[c] = e;
  }
  const binExpr = (c: string): string => {
    const interior = edges[c]!.slice(1, -1);
    return interior.length === 0
      ? `histogram(CASE WHEN ${q(c)} IS NOT NULL THEN 0 END)`
      : `histogram(CASE WHEN ${q(c)} IS NOT NULL THEN len(list_filter([${interior.join(', ')}]::DOUBLE[], e -> ${q(c)} >= e)) END)`;
  };
  const counts = await one<Record<string, unknown>>(
    con,
    `SELECT ${NUMERIC.map((c) => `${binExpr(c)} AS ${q(c)}`).join(', ')}, ${[...CATEGORICAL, 'revenge_in_horizon']
      .map((c) => `histogram(${q(c)}::VARCHAR) AS ${q(c)}`)
      .join(', ')} FROM ${m}`,
  );
  for (const c of NUMERIC) profile[c] = { ...(stats[c] as object), bin_edges: edges[c], bin_counts: mapOf(counts[c]) };
  for (const c of [...CATEGORICAL, 'revenge_in_horizon']) profile[c] = { frequencies: mapOf(counts[c]) };
  const written = await writeMaster(con, partsDir, out, parts);
  const { duplicate_groups, ...rest } = sums;
  writeJson(path.join(out, 'build.json'), {
    quality: { ...quality, duplicate_txn_ids: dupTxn.n, duplicate_groups },
    flag: { flagged: rest.flagged, not_flagged: rest.not_flagged, excluded: rest.excluded },
    target: {
      snapshots: rest.snapshots,
      censored: rest.censored,
      positives: rest.positives,
      negatives: rest.negatives,
      customers: rest.customers,
      positive_customers: rest.positive_customers,
    },
    splits,
    leakage,
    profile,
  });
  return [Number(quality.rows), written];
}

/**
 * The master table in canonical order (date, txn_id) from the parts' sorted files: one part is
 * already in order (`master.parquet`); K parts are rewritten as K date ranges of about equal rows,
 * each sorted (`master/part-<j>.parquet`). Returns the rows written.
 */
async function writeMaster(con: DuckDBConnection, partsDir: string, out: string, parts: number): Promise<number> {
  const single = path.join(out, 'master.parquet');
  const dir = path.join(out, 'master');
  fs.rmSync(single, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
  const m = `read_parquet(${lit(path.join(partsDir, '*.parquet'))})`;
  const days = await rows<{ date: string; n: bigint }>(
    con,
    `SELECT date, count(*) AS n FROM ${m} GROUP BY date ORDER BY date`,
  );
  const total = days.reduce((s, d) => s + Number(d.n), 0);
  if (parts === 1) {
    fs.renameSync(path.join(partsDir, 'part-0.parquet'), single);
  } else {
    fs.mkdirSync(dir);
    const width = String(parts - 1).length;
    let chunk = 0;
    let from = 0;
    let acc = 0;
    for (let i = 0; i < days.length; i++) {
      acc += Number(days[i]!.n);
      if (acc < (total * (chunk + 1)) / parts && i < days.length - 1) continue;
      const file = path.join(dir, `part-${String(chunk).padStart(width, '0')}.parquet`);
      await con.run(
        `COPY (SELECT * FROM ${m} WHERE date BETWEEN ${lit(days[from]!.date)} AND ${lit(days[i]!.date)} ORDER BY date, txn_id)
         TO ${lit(`${file}.tmp`)} (FORMAT parquet, COMPRESSION snappy)`,
      );
      fs.renameSync(`${file}.tmp`, file);
      chunk++;
      from = i + 1;
    }
  }
  fs.rmSync(partsDir, { recursive: true, force: true });
  return total;
}

/** DuckDB's master table as written by writeMaster. */
const duckMaster = (out: string): string =>
  fs.existsSync(path.join(out, 'master.parquet'))
    ? `read_parquet(${lit(path.join(out, 'master.parquet'))})`
    : `read_parquet(${lit(path.join(out, 'master', '*.parquet'))})`;

/** A DuckDB MAP (the JS API returns it as a list of {key, value}) as a plain object, keys as strings. */
function mapOf(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { key, value } of (v as { key: unknown; value: unknown }[] | null) ?? []) out[String(key)] = Number(value);
  return out;
}

function writeJson(file: string, value: unknown): void {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2);
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

interface Baseline {
  version: string;
  kind: string;
  /** SQL expression of the calibrated probability over a master row. */
  score: string;
}

/** The registered baselines of the current master table (newest per kind), each as one SQL expression. */
function baselinesOf(dataDir: string, masterHash: string): Baseline[] {
  const models = path.join(dataDir, 'registry', 'models');
  const byKind = new Map<string, Baseline>();
  for (const version of fs.readdirSync(models).sort()) {
    const card = readJson<{
      role?: string;
      master_hash?: string;
      baseline_kind?: string;
      family: string;
      calibration: { method: string; a?: number; b?: number };
    }>(path.join(models, version, 'card.json'));
    if (card.role !== 'baseline' || card.master_hash !== masterHash) continue;
    const m = readJson<{
      family: string;
      probability?: number;
      feature?: string;
      direction?: 'lower' | 'higher';
      threshold?: number | null;
      center?: number;
      scale?: number;
      a?: number;
      b?: number;
      missing_probability?: number;
    }>(path.join(models, version, 'model.json'));
    let raw: string;
    if (m.family === 'prior') raw = String(m.probability);
    else if (m.family === 'feature') {
      const x = `${q(m.feature!)}::DOUBLE`;
      const t =
        m.threshold === null || m.threshold === undefined
          ? m.direction === 'higher'
            ? x
            : `-${x}`
          : `(${x} ${m.direction === 'lower' ? '<' : '>'} ${m.threshold})::DOUBLE`;
      raw = `CASE WHEN ${x} IS NULL OR NOT isfinite(${x}) THEN ${m.missing_probability} ELSE 1 / (1 + exp(-((${m.a} * ((${t}) - ${m.center})) / ${m.scale} + ${m.b}))) END`;
    } else continue; // rule baselines (several conditions) are not part of this comparison
    const cal = card.calibration;
    const score =
      cal.method === 'none'
        ? raw
        : cal.method === 'platt'
          ? `1 / (1 + exp(-(${cal.a} * ln((${raw}) / (1 - (${raw}))) + ${cal.b})))`
          : null;
    if (score === null) continue; // isotonic calibration of a baseline: not expressed here
    byKind.set(card.baseline_kind ?? card.family, { version, kind: card.baseline_kind ?? card.family, score });
  }
  return [...byKind.values()];
}

/**
 * Evaluate: the current master table → each registered baseline's score in SQL → on test and
 * holdout: ROC-AUC and PR-AUC (ties grouped), Brier, log loss, with customer-bootstrap percentile
 * intervals (whole customers, capped rows, rescaled by √(m/n) as ours); reliability and lift bins.
 */
async function evaluateStage(con: DuckDBConnection, dataDir: string, out: string): Promise<[number, number]> {
  const p = params<EvaluateParamsFile>('evaluate');
  const layout = dataLayout(dataDir);
  const latest = readJson<{ hash: string }>(layout.masterLatest);
  const baselines = baselinesOf(dataDir, latest.hash);
  if (baselines.length === 0) throw new Error('duckdb evaluate: no baseline registered for the current master');
  const master = masterScan(layout.masterTable(latest.hash));
  await con.run(`
    CREATE OR REPLACE TEMP TABLE s AS
    SELECT split, "group" AS customer, revenge_in_horizon::INTEGER AS y, model, p
    FROM (SELECT split, "group", revenge_in_horizon, ${baselines.map((b) => `(${b.score})::DOUBLE AS ${q(b.kind)}`).join(', ')}
          FROM ${master} WHERE split IN ('test', 'holdout'))
    UNPIVOT (p FOR model IN (${baselines.map((b) => q(b.kind)).join(', ')}))`);
  // Each customer's rows collapsed per (model, score): a resample weighs these, not rows (a rule's
  // or the prior's scores take one or two values, so most customers are one or two lines).
  await con.run(`
    CREATE OR REPLACE TEMP TABLE sc AS
    SELECT model, split, customer, p, sum(y) AS pos, sum(1 - y) AS neg, sum((p - y) * (p - y)) AS se,
           sum(-(y * ln(greatest(p, 1e-12)) + (1 - y) * ln(greatest(1 - p, 1e-12)))) AS ll
    FROM s GROUP BY ALL`);
  const metricsSql = (from: string, by: string) => `
    WITH g AS (SELECT ${by}, p, sum(w * pos) AS pos, sum(w * neg) AS neg, sum(w * se) AS se, sum(w * ll) AS ll
               FROM ${from} GROUP BY ${by}, p),
         c AS (SELECT *, sum(pos) OVER w AS tp, sum(neg) OVER w AS fp
               FROM g WINDOW w AS (PARTITION BY ${by} ORDER BY p DESC ROWS UNBOUNDED PRECEDING))
    SELECT ${by}, sum(neg * (tp - pos + pos / 2.0)) / nullif(sum(pos) * sum(neg), 0) AS roc_auc,
           CASE WHEN sum(pos) > 0 THEN sum(pos * tp / (tp + fp)) / sum(pos) END AS pr_auc,
           sum(se) / sum(pos + neg) AS brier, sum(ll) / sum(pos + neg) AS log_loss, sum(pos + neg) AS n, sum(pos) AS positives
    FROM c GROUP BY ${by}`;
  const point = await rows<Record<string, unknown>>(
    con,
    `${metricsSql('(SELECT *, 1 AS w FROM sc)', 'model, split')} ORDER BY model, split`,
  );
  // Bootstrap: per split, whole customers in a seeded order up to max_rows rows; B resamples of those
  // customers drawn with replacement (a customer's rows count once per draw).
  const B = p.bootstrap.iterations;
  await con.run(`
    CREATE OR REPLACE TEMP TABLE units AS
    WITH c AS (SELECT split, customer, count(*) AS n FROM s WHERE model = ${lit(baselines[0]!.kind)} GROUP BY split, customer),
         o AS (SELECT *, sum(n) OVER (PARTITION BY split ORDER BY hash(customer || ${lit(String(p.seed))}), customer
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before,
                         count(*) OVER (PARTITION BY split) AS total_units FROM c)
    SELECT split, customer, total_units, (row_number() OVER (PARTITION BY split ORDER BY customer)) - 1 AS u
    FROM o WHERE coalesce(before, 0) < ${p.bootstrap.max_rows}`);
  await con.run(`
    CREATE OR REPLACE TEMP TABLE draws AS
    WITH k AS (SELECT split, count(*) AS m FROM units GROUP BY split),
         d AS (SELECT k.split, b.range AS b, (hash(b.range, i.range, k.split, ${p.seed}) % k.m)::BIGINT AS u
               FROM k, range(${B}) b, LATERAL (SELECT * FROM range(k.m)) i)
    SELECT split, b, customer, count(*) AS w FROM d JOIN units USING (split, u) GROUP BY ALL`);
  // Resamples in batches of 25, so the join of draws and scores (resamples × capped rows × models)
  // stays bounded in memory whatever B is.
  await con.run(
    'CREATE OR REPLACE TEMP TABLE resampled (model VARCHAR, split VARCHAR, b BIGINT, roc_auc DOUBLE, pr_auc DOUBLE)',
  );
  for (let b0 = 0; b0 < B; b0 += 25)
    await con.run(
      `INSERT INTO resampled SELECT model, split, b, roc_auc, pr_auc FROM (${metricsSql(
        `(SELECT sc.*, d.b, d.w FROM sc JOIN (SELECT * FROM draws WHERE b >= ${b0} AND b < ${b0 + 25}) d USING (split, customer))`,
        'model, split, b',
      )})`,
    );
  const boot = await rows<Record<string, unknown>>(
    con,
    `SELECT model, split, count(*) AS resamples,
            quantile_cont(roc_auc, [${(1 - p.bootstrap.confidence) / 2}, ${1 - (1 - p.bootstrap.confidence) / 2}]) AS roc_auc_q,
            quantile_cont(pr_auc, [${(1 - p.bootstrap.confidence) / 2}, ${1 - (1 - p.bootstrap.confidence) / 2}]) AS pr_auc_q
     FROM resampled GROUP BY model, split ORDER BY model, split`,
  );
  const unitCounts = await rows<{ split: string; m: bigint; n: bigint }>(
    con,
    'SELECT split, count(*) AS m, any_value(total_units) AS n FROM units GROUP BY split',
  );
  // Reliability: equal-width probability bins; lift: score deciles (ties split by row order).
  const bins = p.reliability_bins;
  const reliability = await rows<Record<string, unknown>>(
    con,
    `SELECT model, split, least(floor(p * ${bins}), ${bins - 1})::INTEGER AS bin, count(*) AS n, avg(p) AS mean_p, avg(y) AS rate
     FROM s GROUP BY ALL ORDER BY model, split, bin`,
  );
  const lift = await rows<Record<string, unknown>>(
    con,
    `WITH d AS (SELECT model, split, y, ntile(10) OVER (PARTITION BY model, split ORDER BY p DESC) AS decile,
                       avg(y) OVER (PARTITION BY model, split) AS base FROM s)
     SELECT model, split, decile, count(*) AS n, avg(y) AS rate, avg(y) / any_value(base) AS lift
     FROM d GROUP BY model, split, decile ORDER BY model, split, decile`,
  );
  const alphaScale = new Map(unitCounts.map((u) => [u.split, Math.sqrt(Number(u.m) / Number(u.n))]));
  const metrics = point.map((pt) => {
    const b = boot.find((x) => x.model === pt.model && x.split === pt.split) as
      { roc_auc_q: number[]; pr_auc_q: number[] } | undefined;
    const k = alphaScale.get(String(pt.split)) ?? 1;
    const iv = (value: number, qv: number[] | undefined) =>
      qv && qv.length === 2 ? { value, lo: value + (qv[0]! - value) * k, hi: value + (qv[1]! - value) * k } : { value };
    return {
      ...pt,
      roc_auc: iv(Number(pt.roc_auc), b?.roc_auc_q),
      pr_auc: iv(Number(pt.pr_auc), b?.pr_auc_q),
    };
  });
  writeJson(path.join(out, 'evaluate.json'), {
    master: latest.hash,
    baselines: baselines.map(({ version, kind }) => ({ version, kind })),
    metrics,
    reliability,
    lift,
  });
  const n = await one<{ n: bigint; rows: bigint }>(
    con,
    `SELECT count(*) FILTER (model = ${lit(baselines[0]!.kind)}) AS n, (SELECT count(*) FROM ${master}) AS rows FROM s`,
  );
  return [Number(n.rows), Number(n.n)];
}

/** Numbers equal up to rounding (sums in another order, ln(1+x) for log1p). */
const close = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** DuckDB's feature rows (`theirs`) against ours: the same rows by txn_id, the same values (numbers to 1e-9). */
async function checkFeatures(con: DuckDBConnection, ours: string, theirs: string): Promise<string[]> {
  const problems: string[] = [];
  const counts = await one<{ a: bigint; b: bigint; j: bigint }>(
    con,
    `SELECT (SELECT count(*) FROM ${ours}) AS a, (SELECT count(*) FROM ${theirs}) AS b,
            (SELECT count(*) FROM ${ours} o JOIN ${theirs} t USING (txn_id)) AS j`,
  );
  if (counts.a !== counts.b || counts.a !== counts.j)
    problems.push(`feature rows: ours ${counts.a}, duckdb ${counts.b}, joined on txn_id ${counts.j}`);
  const diff = (c: string): string =>
    NUMERIC.includes(c)
      ? `count_if((o.${q(c)} IS NULL) <> (t.${q(c)} IS NULL) OR abs(o.${q(c)} - t.${q(c)}) > 1e-9 * greatest(1, abs(o.${q(c)}), abs(t.${q(c)})))`
      : `count_if(o.${q(c)}::VARCHAR IS DISTINCT FROM t.${q(c)}::VARCHAR)`;
  const bad = await one<Record<string, bigint>>(
    con,
    `SELECT count_if(o.customer_key <> t.customer_key OR o.date::DATE <> t.date::DATE) AS keys, ${DECLS.map((d) => `${diff(d.name)} AS ${q(d.name)}`).join(', ')}
     FROM ${ours} o JOIN ${theirs} t USING (txn_id)`,
  );
  for (const [k, v] of Object.entries(bad)) if (Number(v) > 0) problems.push(`${k}: ${v} rows differ`);
  return problems;
}

/** Compare a stage's DuckDB output with ours; returns the differences found (empty: equal). */
async function check(
  con: DuckDBConnection,
  stage: string,
  dataDir: string,
  out: string,
  parts: number,
): Promise<string[]> {
  const problems: string[] = [];
  const layout = dataLayout(dataDir);
  if (stage === 'features') {
    const ours = `read_parquet(${lit(storeGlob(dataDir))}, hive_partitioning = true)`;
    const theirs = (dir: string) => `read_parquet(${lit(path.join(dir, '*', '*.parquet'))}, hive_partitioning = true)`;
    const store = path.join(out, 'feature-store');
    if (parts === 1) problems.push(...(await checkFeatures(con, ours, theirs(store))));
    // Part by part: our rows of the part's customers against DuckDB's part.
    for (let part = 0; parts > 1 && part < parts; part++) {
      const mine = `(SELECT * FROM ${ours} WHERE ${partFilter('customer_key', { part, parts })})`;
      const found = await checkFeatures(con, mine, theirs(path.join(store, `part=${part}`)));
      problems.push(...found.map((x) => `part ${part}: ${x}`));
    }
  } else if (stage === 'build') {
    const latest = readJson<{ hash: string }>(layout.masterLatest);
    const manifest = readJson<{
      rows: number;
      target: {
        snapshots: number;
        censored: number;
        positives: number;
        negatives: number;
        customers: number;
        positive_customers: number;
        data_end: string;
        flag: { flagged: number; not_flagged: number; excluded: { total: number } };
      };
    }>(layout.masterManifest(latest.hash));
    const got = readJson<{
      target: Record<string, number>;
      flag: Record<string, number>;
      quality: Record<string, unknown>;
      profile: Record<string, { mean?: number; min?: number; max?: number; quantiles?: number[] }>;
    }>(path.join(out, 'build.json'));
    const t = manifest.target;
    const want: [string, number, number][] = [
      ['snapshots', t.snapshots, got.target.snapshots!],
      ['censored', t.censored, got.target.censored!],
      ['positives', t.positives, got.target.positives!],
      ['negatives', t.negatives, got.target.negatives!],
      ['customers', t.customers, got.target.customers!],
      ['positive customers', t.positive_customers, got.target.positive_customers!],
      ['flagged', t.flag.flagged, got.flag.flagged!],
      ['not flagged', t.flag.not_flagged, got.flag.not_flagged!],
      ['excluded', t.flag.excluded.total, got.flag.excluded!],
    ];
    for (const [name, a, b] of want) if (a !== Number(b)) problems.push(`${name}: ours ${a}, duckdb ${b}`);
    if (t.data_end !== got.quality.data_end)
      problems.push(`data end: ours ${t.data_end}, duckdb ${String(got.quality.data_end)}`);
    // Same master rows with the same labels (splits differ by design: hash vs stratified greedy).
    const ours = masterScan(layout.masterTable(latest.hash));
    const theirs = duckMaster(out);
    const m = await one<{ a: bigint; b: bigint; same: bigint }>(
      con,
      `SELECT (SELECT count(*) FROM ${ours}) AS a, (SELECT count(*) FROM ${theirs}) AS b,
              (SELECT count(*) FROM ${ours} o JOIN ${theirs} t USING (txn_id) WHERE o.revenge_in_horizon = t.revenge_in_horizon) AS same`,
    );
    if (m.a !== m.b || m.a !== m.same) problems.push(`master rows: ours ${m.a}, duckdb ${m.b}, same label ${m.same}`);
    const profile = readJson<{ columns: Record<string, { mean: number | null; quantiles: Record<string, number> }> }>(
      path.join(layout.masterDir(latest.hash), 'profile.json'),
    );
    for (const c of NUMERIC) {
      const a = profile.columns[c];
      const b = got.profile[c];
      if (!a || !b) continue;
      if (a.mean !== null && !close(a.mean, Number(b.mean)))
        problems.push(`profile ${c} mean: ours ${a.mean}, duckdb ${b.mean}`);
      const qa = Object.values(a.quantiles);
      qa.forEach((v, i) => {
        if (!close(v, Number(b.quantiles?.[i])))
          problems.push(`profile ${c} quantile ${i}: ours ${v}, duckdb ${b.quantiles?.[i]}`);
      });
    }
  } else if (stage === 'evaluate') {
    const got = readJson<{ baselines: { version: string; kind: string }[]; metrics: Record<string, unknown>[] }>(
      path.join(out, 'evaluate.json'),
    );
    const reports = fs.readdirSync(layout.reports).filter((d) => fs.existsSync(layout.reportMetrics(d)));
    const latestReport = reports.sort().at(-1);
    if (!latestReport) return ['no evaluation report of ours to compare with'];
    const ours = readJson<{
      contenders?: {
        id: string;
        version: string;
        splits?: Record<string, { metrics: Record<string, { value: number }> }>;
      }[];
    }>(layout.reportMetrics(latestReport));
    let compared = 0;
    for (const b of got.baselines) {
      const c = ours.contenders?.find((x) => x.version === b.version);
      if (!c?.splits) continue;
      for (const split of ['test', 'holdout']) {
        const mine = got.metrics.find((x) => x.model === b.kind && x.split === split) as
          { roc_auc: { value: number }; pr_auc: { value: number }; brier: number } | undefined;
        const theirs = c.splits[split]?.metrics;
        if (!mine || !theirs) continue;
        for (const [name, v] of [
          ['roc_auc', mine.roc_auc.value],
          ['pr_auc', mine.pr_auc.value],
          ['brier', mine.brier],
        ] as const) {
          compared++;
          const o = theirs[name]?.value;
          if (o === undefined || !close(o, Number(v)))
            problems.push(`${b.kind} ${split} ${name}: ours ${o}, duckdb ${v}`);
        }
      }
    }
    if (compared === 0) problems.push('no baseline metric of ours found to compare with');
  } else problems.push(`unknown stage ${stage}`);
  return problems;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stage: { type: 'string' },
      check: { type: 'string' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      threads: { type: 'string', default: '2' },
      'memory-limit': { type: 'string', default: '4GB' },
      parts: { type: 'string', default: '1' },
      'max-temp': { type: 'string' },
    },
  });
  const parts = Number(values.parts);
  if (!Number.isInteger(parts) || parts < 1) throw new Error(`--parts takes a whole number ≥ 1, got ${values.parts}`);
  const dataDir = path.resolve(values['data-dir'] ?? process.env.DATA_DIR ?? 'data');
  const out = path.resolve(values.out ?? path.join(os.tmpdir(), 'duckdb-stages'));
  fs.mkdirSync(out, { recursive: true });
  const tmp = path.join(out, '.duckdb-tmp');
  const con = await open(Number(values.threads), values['memory-limit']!, tmp, values['max-temp']);
  if (values.check) {
    const problems = await check(con, values.check, dataDir, out, parts);
    for (const p of problems) console.error(`[duckdb check] ${values.check}: ${p}`);
    console.error(
      `[duckdb check] ${values.check}: ${problems.length ? `${problems.length} difference(s)` : 'same as ours'}`,
    );
    process.exitCode = problems.length ? 1 : 0;
    return;
  }
  const stages = { features: featuresStage, build: buildStage, evaluate: evaluateStage } as const;
  const run = stages[values.stage as keyof typeof stages];
  if (!run) throw new Error(`--stage must be one of ${Object.keys(stages).join(', ')}`);
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const [rowsIn, rowsOut] = await run(con, dataDir, out, parts);
  const cpu = process.cpuUsage(c0);
  fs.rmSync(tmp, { recursive: true, force: true });
  process.stdout.write(
    `seconds=${((performance.now() - t0) / 1000).toFixed(3)} cpu_seconds=${((cpu.user + cpu.system) / 1e6).toFixed(3)} ` +
      `peak_rss_mb=${(process.resourceUsage().maxRSS / 1024).toFixed(0)} rows_in=${rowsIn} rows_out=${rowsOut}\n`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});
