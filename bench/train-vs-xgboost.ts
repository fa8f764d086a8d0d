/**
 * Training against xgboost, side by side in one run (issue 19). For each dataset: a master table is
 * prepared as bench/train.ts does (generated N rows or the real file; ingest, features and build as
 * child processes, not measured), then
 *   1. ours: the default search (packages/train/params.json) through `runTrain`, measured (wall, CPU),
 *      the chosen model scored on the test split through core `loadModel`;
 *   2. xgboost `hist` (Debian's python3-xgboost, installed with apt-get when missing): the same
 *      training rows (the reader's seeded sample of whole customers), the same model features in the
 *      same encoding (the tree preprocessing fitted on those rows), the build's grouped folds; a
 *      4-config grid (max_depth 4/6 × eta 0.05/0.1, 300 rounds, 2 threads) × the folds, the best by
 *      pooled out-of-fold PR-AUC refitted on all rows and scored on the same test rows.
 * PR-AUC is computed by the same code for both (core `averagePrecision`); the intervals are a
 * seeded customer-level bootstrap of the test rows, paired between the two models.
 *
 * Usage: npx tsx bench/train-vs-xgboost.ts [--rows 1000000] [--seed 7] [--real PATH]
 *        [--data-dir DIR (a prepared DATA_DIR to reuse; its name labels the row)] [--out docs/bench-train-xgboost.md] [--keep]
 * Not a CI step. Nothing derived from the data is written into the repository except the Markdown table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  averagePrecision,
  dataLayout,
  forEachParquetBatch,
  loadParams,
  readContract,
  readJson,
  seededRandom,
} from '@bolsillo/core';
import { createEncoder, loadModel } from '@bolsillo/model';
import { SelectionSchema, TARGET } from '@bolsillo/schema';
import { readTrainingRows } from '../packages/train/src/master-reader';
import { TrainParamsSchema } from '../packages/train/src/params';
import { fitPreprocessing } from '../packages/train/src/preprocess-fit';
import { runTrain } from '../packages/train/src/run';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const PYTHON = '/usr/bin/python3';
const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '7' },
    real: { type: 'string' },
    'data-dir': { type: 'string', multiple: true },
    out: { type: 'string', default: path.join(root, 'docs', 'bench-train-xgboost.md') },
    keep: { type: 'boolean', default: false },
  },
});

type Row = Record<string, unknown>;

function stage(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [tsx, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}`);
}

function prepare(work: string): string {
  const env = { RAW_DIR: path.join(work, 'raw'), DATA_DIR: path.join(work, 'data') };
  for (const s of ['ingest', 'features', 'build']) {
    process.stderr.write(`[bench] ${s} in ${work}\n`);
    stage([`packages/${s}/src/cli.ts`], env);
  }
  return env.DATA_DIR;
}

/** xgboost from Debian when it is missing (the bench's only Python dependency; numpy comes with it). */
function ensureXgboost(): string {
  const probe = () => spawnSync(PYTHON, ['-c', 'import xgboost; print(xgboost.__version__)'], { encoding: 'utf8' });
  let r = probe();
  if (r.status !== 0) {
    process.stderr.write('[bench] python3-xgboost missing: apt-get install -y python3-xgboost\n');
    const apt = (args: string[]) =>
      spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (apt(['install', '-y', 'python3-xgboost']).status !== 0) {
      apt(['update']);
      apt(['install', '-y', 'python3-xgboost']);
    }
    r = probe();
    if (r.status !== 0) throw new Error(`xgboost not importable by ${PYTHON}: ${r.stderr}`);
  }
  return r.stdout.trim();
}

async function testRows(dataDir: string, hash: string, columns: readonly string[]): Promise<Row[]> {
  const out: Row[] = [];
  await forEachParquetBatch(
    dataLayout(dataDir).masterTable(hash),
    { columns: [...new Set([...columns, 'split'])] },
    (t) => {
      const split = t.getChild('split')!;
      const cols = columns.map((c) => [c, t.getChild(c)!] as const);
      for (let i = 0; i < t.numRows; i++) {
        if (split.get(i) !== 'test') continue;
        const row: Row = {};
        for (const [c, v] of cols) {
          const x = v.get(i);
          row[c] = typeof x === 'bigint' ? Number(x) : x;
        }
        out.push(row);
      }
    },
  );
  return out;
}

/** PR-AUC with a seeded customer-level bootstrap interval (resampling whole customers), paired over models. */
function prAucWithInterval(
  y: number[],
  groups: string[],
  scores: Float64Array[],
  iterations = 200,
  seed = 19,
): { value: number; lo: number; hi: number }[] {
  const byGroup = new Map<string, number[]>();
  groups.forEach((g, i) => (byGroup.get(g) ?? byGroup.set(g, []).get(g)!).push(i));
  const lists = [...byGroup.values()];
  const rand = seededRandom(seed);
  const samples = scores.map(() => [] as number[]);
  for (let b = 0; b < iterations; b++) {
    const idx: number[] = [];
    for (let k = 0; k < lists.length; k++) idx.push(...lists[Math.floor(rand() * lists.length)]!);
    const yy = idx.map((i) => y[i]!);
    scores.forEach((s, m) =>
      samples[m]!.push(
        averagePrecision(
          yy,
          idx.map((i) => s[i]!),
        ),
      ),
    );
  }
  return scores.map((s, m) => {
    const sorted = samples[m]!.filter(Number.isFinite).sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.round(p * (sorted.length - 1))))]!;
    return { value: averagePrecision(y, s), lo: q(0.025), hi: q(0.975) };
  });
}

const XGB_SCRIPT = String.raw`
import json, os, sys, time
import numpy as np
import xgboost as xgb
d = sys.argv[1]
meta = json.load(open(os.path.join(d, 'meta.json')))
n, w, nt = meta['n'], meta['width'], meta['test_n']
X = np.fromfile(os.path.join(d, 'x.f32'), dtype=np.float32).reshape(n, w)
y = np.fromfile(os.path.join(d, 'y.f32'), dtype=np.float32)
folds = np.fromfile(os.path.join(d, 'fold.i32'), dtype=np.int32)
Xt = np.fromfile(os.path.join(d, 'xt.f32'), dtype=np.float32).reshape(nt, w)

def ap(yv, p):
    # Average precision with tied scores grouped (the same definition as core averagePrecision).
    o = np.argsort(-p, kind='mergesort'); yv = yv[o]; p = p[o]
    last = np.r_[np.nonzero(np.diff(p))[0], len(p) - 1]
    tp = np.cumsum(yv)[last]; k = last + 1
    P = tp[-1]
    if P == 0: return float('nan')
    prec = tp / k; rec = tp / P
    return float(np.sum(np.diff(np.r_[0.0, rec]) * prec))

grid = [dict(max_depth=md, eta=eta) for md in (4, 6) for eta in (0.05, 0.1)]
base = dict(objective='binary:logistic', tree_method='hist', max_bin=256, nthread=2, eval_metric='logloss', seed=0)
rounds = 300
t0 = time.perf_counter(); c0 = time.process_time()
results = []
for g in grid:
    oof = np.zeros(n, dtype=np.float64)
    for k in sorted(set(folds.tolist())):
        if k < 0: continue
        tr = folds != k; va = folds == k
        b = xgb.train({**base, **g}, xgb.DMatrix(X[tr], label=y[tr]), num_boost_round=rounds)
        oof[va] = b.predict(xgb.DMatrix(X[va]))
    m = folds >= 0
    results.append((ap(y[m], oof[m]), g, oof))
best = max(results, key=lambda r: r[0])
b = xgb.train({**base, **best[1]}, xgb.DMatrix(X, label=y), num_boost_round=rounds)
pt = b.predict(xgb.DMatrix(Xt)).astype(np.float64)
wall = time.perf_counter() - t0; cpu = time.process_time() - c0
best[2].astype(np.float64).tofile(os.path.join(d, 'oof.f64'))
pt.tofile(os.path.join(d, 'pt.f64'))
json.dump({'wall': wall, 'cpu': cpu, 'best': best[1], 'grid': [{'params': r[1], 'cv_pr_auc': r[0]} for r in results], 'version': xgb.__version__, 'rounds': rounds}, open(os.path.join(d, 'xgb.json'), 'w'))
`;

interface XgbResult {
  readonly wall: number;
  readonly cpu: number;
  readonly best: Record<string, number>;
  readonly grid: { params: Record<string, number>; cv_pr_auc: number }[];
  readonly version: string;
  readonly rounds: number;
}

interface Result {
  readonly name: string;
  readonly load: [number, number];
  readonly ours: {
    wall: number;
    cpu: number;
    family: string;
    cv: number;
    params: Record<string, unknown>;
    test: { value: number; lo: number; hi: number };
    read_cpu: number;
    candidates: string;
    score_us: number;
  };
  readonly xgb: XgbResult & { cv: number; test: { value: number; lo: number; hi: number } };
  readonly train_rows: number;
  readonly train_customers: number;
  readonly test_rows: number;
  readonly test_customers: number;
  readonly width: number;
}

async function bench(name: string, dataDir: string): Promise<Result> {
  const load0 = os.loadavg()[0]!;
  // 1. Ours: the default search, measured as the train stage runs it.
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runTrain({ dataDir, log: (m) => process.stderr.write(`[bench ${name}] ${m}\n`) });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const hash = summary.master_hash;
  const params = loadParams(path.join(root, 'packages', 'train', 'params.json'), TrainParamsSchema);
  const layout = dataLayout(dataDir);
  const { features } = readContract(layout.masterSelection(hash), SelectionSchema);

  // The same training rows (the reader is seeded) and the test split, for xgboost.
  const rc0 = process.cpuUsage();
  const read = await readTrainingRows(layout.masterTable(hash), [...features, TARGET, 'group', 'split', 'fold'], {
    maxTrainRows: params.full_round.max_rows,
    maxCalibrationRows: params.calibration.max_rows ?? 50_000,
    seed: params.seed + 1,
  });
  const rc = process.cpuUsage(rc0);
  const test = await testRows(dataDir, hash, [...features, TARGET, 'group']);
  const yTest = test.map((r) => (r[TARGET] ? 1 : 0));
  const model = await loadModel(path.join(dataDir, 'registry'), summary.version);
  const ours = model.predict(test);
  // One row at a time, as the API scores: mean µs per row over 5,000 test rows.
  const s0 = performance.now();
  const probe = Math.min(5000, test.length);
  for (let i = 0; i < probe; i++) model.score([test[i]!], true);
  const scoreUs = ((performance.now() - s0) * 1000) / Math.max(probe, 1);

  // 2. xgboost on the same rows, features and folds (the tree encoding fitted on the training rows).
  const version = ensureXgboost();
  const prep = fitPreprocessing(read.train, features, {
    min_category_count: params.preprocessing.min_category_count,
    max_categories: params.preprocessing.max_categories,
  });
  const enc = createEncoder(prep);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-xgb-'));
  fs.writeFileSync(path.join(dir, 'x.f32'), enc.encode(read.train));
  fs.writeFileSync(
    path.join(dir, 'y.f32'),
    Float32Array.from(read.train, (r) => (r[TARGET] ? 1 : 0)),
  );
  fs.writeFileSync(
    path.join(dir, 'fold.i32'),
    Int32Array.from(read.train, (r) => Number(r.fold)),
  );
  fs.writeFileSync(path.join(dir, 'xt.f32'), enc.encode(test));
  fs.writeFileSync(
    path.join(dir, 'meta.json'),
    JSON.stringify({ n: read.train.length, width: enc.width, test_n: test.length }),
  );
  fs.writeFileSync(path.join(dir, 'run.py'), XGB_SCRIPT);
  process.stderr.write(
    `[bench ${name}] xgboost ${version}: ${read.train.length} rows × ${enc.width} inputs, 4 configs × folds + refit\n`,
  );
  const py = spawnSync(PYTHON, [path.join(dir, 'run.py'), dir], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (py.status !== 0) throw new Error(`xgboost script exited with ${py.status}`);
  const xr = readJson<XgbResult>(path.join(dir, 'xgb.json'));
  const read64 = (f: string) => {
    const b = fs.readFileSync(path.join(dir, f));
    return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  const oof = read64('oof.f64');
  const xgbTest = read64('pt.f64');
  const inFold = read.train.map((r, i) => (Number(r.fold) >= 0 ? i : -1)).filter((i) => i >= 0);
  const xgbCv = averagePrecision(
    inFold.map((i) => (read.train[i]![TARGET] ? 1 : 0)),
    inFold.map((i) => oof[i]!),
  );
  fs.rmSync(dir, { recursive: true, force: true });
  const [oursTest, xgbTestAp] = prAucWithInterval(
    yTest,
    test.map((r) => String(r.group)),
    [ours, xgbTest],
  );
  const best = summary.result.best;
  return {
    name,
    load: [load0, os.loadavg()[0]!],
    ours: {
      wall,
      cpu: (cpu.user + cpu.system) / 1e6,
      family: best.family,
      cv: summary.cv.mean,
      params: best.params,
      test: oursTest!,
      read_cpu: (rc.user + rc.system) / 1e6,
      candidates: `${summary.result.sample_trials.map((t) => t.candidate).join(', ')} on ${summary.result.sample_rows.toLocaleString('en-US')} rows → ${summary.result.full_trials.map((t) => t.candidate).join(', ')} on ${summary.result.train_rows.toLocaleString('en-US')}`,
      score_us: scoreUs,
    },
    xgb: { ...xr, cv: xgbCv, test: xgbTestAp! },
    train_rows: read.train.length,
    train_customers: new Set(read.train.map((r) => String(r.group))).size,
    test_rows: test.length,
    test_customers: new Set(test.map((r) => String(r.group))).size,
    width: enc.width,
  };
}

/**
 * The load average counts every process on the machine; what the bench got of the CPU depends on its
 * scheduling group (Linux autogroups: each session shares the CPU as one, weighted by the group's nice).
 */
function schedulingNote(): string {
  let group = '';
  try {
    group = fs.readFileSync('/proc/self/autogroup', 'utf8').trim();
  } catch {
    return '';
  }
  return `Scheduling: this bench and its children ran in ${group} (the machine's other sessions share the CPU as their own groups, at nice 0 unless said).`;
}

function writeSection(results: readonly Result[]): void {
  const f = (x: number) => x.toFixed(4);
  const ci = (e: { value: number; lo: number; hi: number }) =>
    `${e.value.toFixed(4)} [${e.lo.toFixed(3)}, ${e.hi.toFixed(3)}]`;
  const lines = [
    '# Train vs xgboost',
    '',
    `Measured by \`npx tsx bench/train-vs-xgboost.ts ${process.argv
      .slice(2)
      .map((a) => (/\s/.test(a) ? `'${a}'` : a))
      .join(
        ' ',
      )}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}.`,
    schedulingNote(),
    "Both sides in the same run on the same master table: the same seeded sample of whole training customers, the same model features and encoding, the build's grouped folds, the same test split; PR-AUC from the same function. Ours is the whole default search as the train stage runs it (reading the master table, every candidate, refit, calibration, registration); xgboost's time is its grid, CV and refit only (data handed over in memory).",
    '',
    '| data | load avg (1 min) before → after | train rows (customers) × inputs | test rows (customers) | ours: search wall s (CPU s; reading the master CPU s) | ours: chosen | ours: CV PR-AUC | ours: test PR-AUC [95% customer bootstrap] | xgboost: grid wall s (CPU s) | xgboost: best | xgboost: CV PR-AUC | xgboost: test PR-AUC | test Δ ours − xgboost | ours: µs per row, one row with contributions |',
    '|---|---|---|---|---:|---|---:|---|---:|---|---:|---|---:|---:|',
    ...results.map((r) => {
      const p = r.ours.params;
      const chosen =
        r.ours.family === 'gbdt'
          ? `gbdt (${String(p.max_leaves)} leaves, depth ${String(p.max_depth)}, ${String(p.refit_rounds)} rounds)`
          : r.ours.family;
      return (
        `| ${r.name} | ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)} | ${r.train_rows.toLocaleString('en-US')} (${r.train_customers.toLocaleString('en-US')}) × ${r.width} | ${r.test_rows.toLocaleString('en-US')} (${r.test_customers.toLocaleString('en-US')}) | **${r.ours.wall.toFixed(1)}** (${r.ours.cpu.toFixed(1)}; ${r.ours.read_cpu.toFixed(1)}) | ${chosen} | ${f(r.ours.cv)} | ${ci(r.ours.test)} ` +
        `| ${r.xgb.wall.toFixed(1)} (${r.xgb.cpu.toFixed(1)}) | depth ${r.xgb.best.max_depth}, eta ${r.xgb.best.eta}, ${r.xgb.rounds} rounds | ${f(r.xgb.cv)} | ${ci(r.xgb.test)} | ${(r.ours.test.value - r.xgb.test.value >= 0 ? '+' : '') + (r.ours.test.value - r.xgb.test.value).toFixed(4)} | ${r.ours.score_us.toFixed(1)} |`
      );
    }),
    '',
    `Candidates of the default search: ${results[0]?.ours.candidates ?? ''}. xgboost ${results[0]?.xgb.version ?? ''} \`hist\`, 2 threads, grid max_depth 4/6 × eta 0.05/0.1.`,
    '',
  ];
  const out = path.resolve(String(values.out));
  const previous = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  const notes = previous.indexOf('\n<!-- notes -->');
  fs.writeFileSync(out, lines.join('\n') + (notes >= 0 ? previous.slice(notes) : ''));
  process.stderr.write(`[bench] wrote ${out}\n`);
}

async function main() {
  const results: Result[] = [];
  for (const dir of values['data-dir'] ?? [])
    results.push(await bench(path.basename(path.dirname(path.resolve(dir))) || dir, dir));
  const datasets: { name: string; raw: (dir: string) => void }[] = [];
  if (values.real)
    datasets.push({
      name: 'real file',
      raw: (dir) => fs.copyFileSync(String(values.real), path.join(dir, path.basename(String(values.real)))),
    });
  if (!values['data-dir']) {
    for (const n of String(values.rows).split(',').filter(Boolean).map(Number)) {
      datasets.push({
        name: `generated ${n.toLocaleString('en-US')}`,
        raw: (dir) =>
          stage(
            [
              'packages/ingest/src/generate-cli.ts',
              '--rows',
              String(n),
              '--seed',
              String(values.seed),
              '--out',
              path.join(dir, 'generated.csv'),
            ],
            {},
          ),
      });
    }
  }
  for (const d of datasets) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-xgb-data-'));
    fs.mkdirSync(path.join(work, 'raw'));
    d.raw(path.join(work, 'raw'));
    results.push(await bench(d.name, prepare(work)));
    if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
  }
  writeSection(results);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
