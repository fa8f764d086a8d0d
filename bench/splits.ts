/**
 * Split-strategy benchmark (issue 15): how well does each `split.strategy` let grouped CV on train
 * predict the test score, and how much does the test score move with the split seed?
 *
 * Reads a built master table (`<data>/master/latest.json`: every non-censored snapshot, its features,
 * target and customer) and re-splits it in this process with build's own `assignSplitsCoded` for
 * each strategy and seed, with the target's horizon as the gap. On each split it fits the build's
 * binned additive logistic model (the identity step's model) on the selected features: grouped CV
 * on train (the master's own customer folds), then train → test. Test PR-AUC gets a customer-level
 * bootstrap interval. The current-ratio rule (`--rule`, scored low ratio = high score) is measured
 * the same way without fitting. Prints a Markdown section to stdout.
 *
 * Usage: npx tsx bench/splits.ts --data /tmp/real15s [--name "real file"] [--seeds 1,2,3,4,5]
 *        [--strategies group,time,group_time] [--rule day_min_available_ratio] [--boot 200]
 *        [--max-train-rows 100000]
 * Bins are equal-frequency cuts over every snapshot (no label involved). Train is cut to whole
 * customers (seeded order) up to --max-train-rows before CV and the final fit, to bound the time.
 */
import { parseArgs } from 'node:util';
import { averagePrecision, dataLayout, readContract, readParquetFile, seededRandom } from '@bolsillo/core';
import {
  featureDeclaration,
  MasterLatestSchema,
  MasterManifestSchema,
  SelectionSchema,
  SPLITS,
  TARGET,
} from '@bolsillo/schema';
import { discretise, toNumeric } from '../packages/build/src/encode';
import { frameFromTable, StringColumn, column, type Frame } from '../packages/build/src/frame';
import { fitAdditiveLogit } from '../packages/build/src/identity';
import type { BuildParams } from '../packages/build/src/params';
import { assignSplitsCoded, encodeStrings, type Coded, type SplitStrategy } from '../packages/build/src/splits';

const { values } = parseArgs({
  options: {
    data: { type: 'string' },
    name: { type: 'string', default: 'data' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    strategies: { type: 'string', default: 'group,time,group_time' },
    rule: { type: 'string', default: 'day_min_available_ratio' },
    boot: { type: 'string', default: '200' },
    'max-train-rows': { type: 'string', default: '100000' },
  },
});

function coded(frame: Frame, name: string): Coded {
  const col = column(frame, name);
  if (col instanceof StringColumn) return { codes: col.codes, dict: col.dict };
  return encodeStrings(Array.from({ length: col.length }, (_, i) => String(col.get(i))));
}

const mean = (a: readonly number[]) => a.reduce((s, v) => s + v, 0) / a.length;
const sd = (a: readonly number[]) =>
  a.length > 1 ? Math.sqrt(a.reduce((s, v) => s + (v - mean(a)) ** 2, 0) / (a.length - 1)) : 0;

/** PR-AUC of `scores` on `rows`. */
function ap(y: Int8Array, scores: Float64Array, rows: ArrayLike<number>): number {
  return averagePrecision(
    Int8Array.from(rows, (i) => y[i]!),
    Float64Array.from(rows, (i) => scores[i]!),
  );
}

/** 5th and 95th percentiles of PR-AUC over `boot` resamples of whole customers. */
function customerBootstrap(
  y: Int8Array,
  scores: Float64Array,
  rows: Uint32Array,
  customer: Int32Array,
  boot: number,
  seed: number,
): [number, number] {
  const by = new Map<number, number[]>();
  for (const i of rows) {
    const list = by.get(customer[i]!);
    if (list) list.push(i);
    else by.set(customer[i]!, [i]);
  }
  const groups = [...by.values()];
  const rand = seededRandom(seed);
  const stats: number[] = [];
  for (let b = 0; b < boot; b++) {
    const pick: number[] = [];
    for (let k = 0; k < groups.length; k++) pick.push(...groups[Math.floor(rand() * groups.length)]!);
    const v = ap(y, scores, pick);
    if (Number.isFinite(v)) stats.push(v);
  }
  stats.sort((a, b) => a - b);
  return [stats[Math.floor(0.05 * (stats.length - 1))] ?? NaN, stats[Math.ceil(0.95 * (stats.length - 1))] ?? NaN];
}

interface Run {
  strategy: SplitStrategy;
  seed: number;
  unassigned: number;
  trainRows: number;
  trainCustomers: number;
  testRows: number;
  testCustomers: number;
  testPositiveCustomers: number;
  model: { cvMean: number; cvSd: number; test: number; ci: [number, number] };
  rule: { cvMean: number; cvSd: number; test: number; ci: [number, number] };
}

async function main(): Promise<void> {
  const dataDir = String(values.data ?? '');
  if (!dataDir) throw new Error('--data <DATA_DIR with a built master> is required');
  const layout = dataLayout(dataDir);
  const { hash } = readContract(layout.masterLatest, MasterLatestSchema);
  const manifest = readContract(layout.masterManifest(hash), MasterManifestSchema);
  // The manifest records the build's params as they were validated on load.
  const buildParams = manifest.params as BuildParams;
  const selection = readContract(layout.masterSelection(hash), SelectionSchema);
  const horizon = manifest.target.horizon_days;
  const frame = frameFromTable(readParquetFile(layout.masterTable(hash)));
  const yCol = column(frame, TARGET);
  const y = Int8Array.from({ length: frame.length }, (_, i) => (yCol.get(i) ? 1 : 0));
  const group = coded(frame, 'customer_key');
  const date = coded(frame, 'date');
  const all = Uint32Array.from({ length: frame.length }, (_, i) => i);
  const features = selection.features;
  const binned = {
    codes: features.map((f) => discretise(column(frame, f), featureDeclaration(f)!.dtype, all, 10)),
    levels: [] as number[],
  };
  binned.levels = binned.codes.map((c) => c.reduce((m, v) => Math.max(m, v), 0) + 1);
  const featureIdx = features.map((_, j) => j);
  const ruleValues = toNumeric(column(frame, String(values.rule)), all);
  // Low headroom ranks first; a missing ratio ranks last.
  const ruleScores = Float64Array.from(ruleValues, (v) => (Number.isFinite(v) ? -v : -Infinity));
  const fitParams = { l2: 1, passes: 10 };
  const boot = Number(values.boot);
  const TRAIN = SPLITS.indexOf('train');
  const TEST = SPLITS.indexOf('test');
  const runs: Run[] = [];
  for (const strategy of String(values.strategies).split(',') as SplitStrategy[]) {
    for (const seed of String(values.seeds).split(',').map(Number)) {
      const a = assignSplitsCoded(group, date, y, { ...buildParams.split, strategy, seed }, horizon);
      let train: number[] = [];
      const test: number[] = [];
      for (let i = 0; i < frame.length; i++) (a.split[i] === TRAIN ? train : a.split[i] === TEST ? test : []).push(i);
      const maxTrain = Number(values['max-train-rows']);
      if (train.length > maxTrain) {
        // Whole customers in a seeded order until the budget.
        const rand = seededRandom(seed + 100);
        const rank = Float64Array.from(group.dict, () => rand());
        const perCustomer = new Map<number, number>();
        for (const i of train) perCustomer.set(group.codes[i]!, (perCustomer.get(group.codes[i]!) ?? 0) + 1);
        const keep = new Set<number>();
        let rows = 0;
        for (const c of [...perCustomer.keys()].sort((x, z) => rank[x]! - rank[z]!)) {
          if (rows >= maxTrain) break;
          keep.add(c);
          rows += perCustomer.get(c)!;
        }
        train = train.filter((i) => keep.has(group.codes[i]!));
      }
      const folds = buildParams.split.folds;
      const modelCv: number[] = [];
      const ruleCv: number[] = [];
      for (let f = 0; f < folds; f++) {
        const fit = Uint32Array.from(train.filter((i) => a.fold[i] !== f));
        const held = Uint32Array.from(train.filter((i) => a.fold[i] === f));
        if (held.length === 0) continue;
        const s = fitAdditiveLogit(binned, featureIdx, y, fit, held, fitParams);
        const full = new Float64Array(frame.length);
        held.forEach((i, k) => (full[i] = s[k]!));
        const m = ap(y, full, held);
        if (Number.isFinite(m)) modelCv.push(m);
        const r = ap(y, ruleScores, held);
        if (Number.isFinite(r)) ruleCv.push(r);
      }
      const testRows = Uint32Array.from(test);
      const s = fitAdditiveLogit(binned, featureIdx, y, Uint32Array.from(train), testRows, fitParams);
      const modelScores = new Float64Array(frame.length);
      testRows.forEach((i, k) => (modelScores[i] = s[k]!));
      const testCustomers = new Set(test.map((i) => group.codes[i]!));
      const posCustomers = new Set(test.filter((i) => y[i] === 1).map((i) => group.codes[i]!));
      runs.push({
        strategy,
        seed,
        unassigned: a.summary.unassigned.share,
        trainRows: train.length,
        trainCustomers: new Set(train.map((i) => group.codes[i]!)).size,
        testRows: test.length,
        testCustomers: testCustomers.size,
        testPositiveCustomers: posCustomers.size,
        model: {
          cvMean: mean(modelCv),
          cvSd: sd(modelCv),
          test: ap(y, modelScores, testRows),
          ci: customerBootstrap(y, modelScores, testRows, group.codes, boot, seed),
        },
        rule: {
          cvMean: mean(ruleCv),
          cvSd: sd(ruleCv),
          test: ap(y, ruleScores, testRows),
          ci: customerBootstrap(y, ruleScores, testRows, group.codes, boot, seed),
        },
      });
      process.stderr.write(
        `[bench splits] ${strategy} seed ${seed}: CV ${mean(modelCv).toFixed(3)} test ${runs.at(-1)!.model.test.toFixed(3)}\n`,
      );
    }
  }
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : '—');
  const lines = [
    `### ${values.name}: ${frame.length.toLocaleString('en-US')} snapshots, ${group.dict.length} customers, horizon ${horizon} days, master \`${hash}\``,
    '',
    `Model: binned additive logistic regression on the ${features.length} selected features; rule: \`${values.rule}\` (lower = riskier). PR-AUC. CV = mean (sd) of the grouped folds on train; test interval = 5th–95th percentile of ${boot} customer-bootstrap resamples.`,
    '',
    '| strategy | seed | rows in no split | train rows (customers) | test rows (customers, with positives) | model CV | model test [90% customer CI] | test − CV | rule CV | rule test [CI] | rule test − CV |',
    '|---|---:|---:|---|---|---|---|---:|---|---|---:|',
    ...runs.map(
      (r) =>
        `| ${r.strategy} | ${r.seed} | ${(100 * r.unassigned).toFixed(1)}% | ${r.trainRows} (${r.trainCustomers}) | ${r.testRows} (${r.testCustomers}, ${r.testPositiveCustomers}) | ${f(r.model.cvMean)} (${f(r.model.cvSd)}) | ${f(r.model.test)} [${f(r.model.ci[0])}, ${f(r.model.ci[1])}] | ${f(r.model.test - r.model.cvMean)} | ${f(r.rule.cvMean)} (${f(r.rule.cvSd)}) | ${f(r.rule.test)} [${f(r.rule.ci[0])}, ${f(r.rule.ci[1])}] | ${f(r.rule.test - r.rule.cvMean)} |`,
    ),
    '',
    '| strategy | model: mean abs(test − CV) | sd of test over seeds | mean CI width | mean CV sd | rule: mean abs(test − CV) | sd of test over seeds |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[...new Set(runs.map((r) => r.strategy))].map((strategy) => {
      const rs = runs.filter((r) => r.strategy === strategy);
      const absGap = (k: 'model' | 'rule') => mean(rs.map((r) => Math.abs(r[k].test - r[k].cvMean)));
      return `| ${strategy} | ${f(absGap('model'))} | ${f(sd(rs.map((r) => r.model.test)))} | ${f(mean(rs.map((r) => r.model.ci[1] - r.model.ci[0])))} | ${f(mean(rs.map((r) => r.model.cvSd)))} | ${f(absGap('rule'))} | ${f(sd(rs.map((r) => r.rule.test)))} |`;
    }),
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
