/**
 * Train-stage benchmark: the full default search (packages/train/params.json) on the real file and
 * on generated data, in one command. For each dataset it prepares a master table in a fresh folder
 * under os.tmpdir() (real: copy of the real CSV; N: the MiBolsillo generator with a fixed seed), runs
 * the ingest, features and build CLIs as child processes (not measured), then runs training in this
 * process (measured: CPU s, wall s, max RSS) and scores the chosen model and the baselines on the
 * test split through core `loadModel`. Writes docs/bench-train.md (merged into docs/benchmarks.md).
 *
 * Usage: npx tsx bench/train.ts [--real /work/shared/data/real/MiBolsillo.csv] [--rows 100000,1000000]
 *        [--seed 7] [--out docs/bench-train.md] [--keep]
 * `--rows ''` skips the generated data; nothing derived from the data is written into the repository
 * except the Markdown table.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { averagePrecision, confusionAt, forEachParquetBatch, readJson } from '@bolsillo/core';
import { loadModel } from '@bolsillo/model';
import { runTrain } from '../packages/train/src/run';

const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');
const { values } = parseArgs({
  options: {
    real: { type: 'string', default: path.resolve(root, '..', 'shared', 'data', 'real', 'MiBolsillo.csv') },
    rows: { type: 'string', default: '100000,1000000' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string', default: path.join(root, 'docs', 'bench-train.md') },
    keep: { type: 'boolean', default: false },
  },
});

function stage(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [tsx, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}`);
}

/** Ingest → features → build into `<work>/data` from the CSVs in `<work>/raw`. */
function prepare(work: string): string {
  const env = { RAW_DIR: path.join(work, 'raw'), DATA_DIR: path.join(work, 'data') };
  for (const s of ['ingest', 'features', 'build']) {
    process.stderr.write(`[bench] ${s} in ${work}\n`);
    stage([`packages/${s}/src/cli.ts`], env);
  }
  return env.DATA_DIR;
}

async function testRows(dataDir: string, hash: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  await forEachParquetBatch(path.join(dataDir, 'master', hash, 'master.parquet'), {}, (t) => {
    const split = t.getChild('split')!;
    const cols = t.schema.fields.map((f) => [f.name, t.getChild(f.name)!] as const);
    for (let i = 0; i < t.numRows; i++) {
      if (split.get(i) !== 'test') continue;
      const row: Record<string, unknown> = {};
      for (const [c, v] of cols) {
        const x = v.get(i);
        row[c] = typeof x === 'bigint' ? Number(x) : x;
      }
      out.push(row);
    }
  });
  return out;
}

interface Result {
  readonly name: string;
  readonly summary: Awaited<ReturnType<typeof runTrain>>;
  readonly cpu: number;
  readonly wall: number;
  readonly rss: number;
  readonly test: Record<string, { pr_auc: number; f1: number }>;
}

async function bench(name: string, dataDir: string): Promise<Result> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runTrain({ dataDir, log: (m) => process.stderr.write(`[bench ${name}] ${m}\n`) });
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - t0) / 1000;
  const rss = process.resourceUsage().maxRSS / 1024;
  const rows = await testRows(dataDir, summary.master_hash);
  const y = rows.map((r) => (r.revenge_in_horizon ? 1 : 0));
  const registry = path.join(dataDir, 'registry');
  const test: Result['test'] = {};
  for (const [key, version] of [
    ['model', summary.version],
    ['rule', summary.baselines.rule!],
    ['prior', summary.baselines.prior!],
  ] as const) {
    const m = await loadModel(registry, version);
    const p = m.predict(rows);
    const c = confusionAt(y, p, m.threshold);
    test[key] = { pr_auc: averagePrecision(y, p), f1: (2 * c.tp) / Math.max(2 * c.tp + c.fp + c.fn, 1) };
  }
  return { name, summary, cpu: (cpu.user + cpu.system) / 1e6, wall, rss, test };
}

async function main() {
  const results: Result[] = [];
  const datasets: { name: string; raw: (dir: string) => void }[] = [];
  const real = String(values.real);
  if (fs.existsSync(real))
    datasets.push({ name: 'real file', raw: (dir) => fs.copyFileSync(real, path.join(dir, path.basename(real))) });
  else process.stderr.write(`[bench] ${real} not found: real-file row skipped\n`);
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
  for (const d of datasets) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
    fs.mkdirSync(path.join(work, 'raw'));
    process.stderr.write(`[bench] ${d.name}: preparing ${work}\n`);
    d.raw(path.join(work, 'raw'));
    const dataDir = prepare(work);
    results.push(await bench(d.name, dataDir));
    if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
    // Rewrite the section after every dataset: a long 1M-row run that is stopped still leaves the finished rows.
    writeSection(results);
  }
}

function writeSection(results: readonly Result[]): void {
  const f = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(3));
  const trialOf = (r: Result, family: string) => r.summary.result.baseline_trials.find((t) => t.family === family);
  const params = readJson<{ selection_aggregate?: string }>(path.join(root, 'packages', 'train', 'params.json'));
  const aggregate = params.selection_aggregate ?? 'fold_mean';
  const lines = [
    '## Train',
    '',
    `Full default search (\`packages/train/params.json\`: algorithm selection on a group sample, finalists with grouped k-fold CV, refit, calibration, registration) on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}.`,
    `Generated ${new Date().toISOString().slice(0, 10)} by \`npx tsx bench/train.ts --rows ${values.rows}\` (ingest, features and build run first as child processes and are not counted).`,
    `CV PR-AUC is the selection aggregate (\`${aggregate}\`: ${aggregate === 'pooled' ? 'PR-AUC of the pooled out-of-fold predictions' : 'mean of the fold PR-AUCs'}); the fold mean is shown beside it. Test figures are on the build's test split, scored through core \`loadModel\` (calibrated probabilities, F1 at the card threshold). Max RSS is this process's high-water mark when training ends (datasets run smallest first, so each row bounds its own run).`,
    '',
    '| data | train rows used / available (customers) | candidates | chosen | CV PR-AUC model (rule, prior) | fold mean model (rule) | test PR-AUC model (rule, prior) | test F1 model (rule) | CPU s | wall s | max RSS MB | backend |',
    '|---|---|---|---|---|---|---|---|---:|---:|---:|---|',
    ...results.map((r) => {
      const s = r.summary;
      const rule = trialOf(r, 'rule');
      const prior = trialOf(r, 'prior');
      const best = s.result.best;
      const hidden = best.family === 'mlp' ? ` ${JSON.stringify(best.params.hidden)}` : '';
      return (
        `| ${r.name} | ${s.sampling.train_rows.toLocaleString('en-US')} / ${s.sampling.train_rows_available.toLocaleString('en-US')} (${s.sampling.train_groups} of ${s.sampling.train_groups_available}) ` +
        `| ${s.result.sample_trials.length} on ${s.result.sample_rows.toLocaleString('en-US')} rows → ${s.result.full_trials.length} on ${s.result.train_rows.toLocaleString('en-US')} | ${best.family}${hidden} ` +
        `| **${f(s.cv.mean)}** (${f(rule?.score_mean)}, ${f(prior?.score_mean)}) | ${f(best.trial.mean.pr_auc)} (${f(rule?.mean.pr_auc)}) ` +
        `| ${f(r.test.model?.pr_auc)} (${f(r.test.rule?.pr_auc)}, ${f(r.test.prior?.pr_auc)}) | ${f(r.test.model?.f1)} (${f(r.test.rule?.f1)}) ` +
        `| ${r.cpu.toFixed(1)} | ${r.wall.toFixed(1)} | ${r.rss.toFixed(0)} | ${s.backend} |`
      );
    }),
    '',
  ];
  const out = path.resolve(String(values.out));
  const previous = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  // Keep any hand-written notes after the generated table (everything from the first "### " heading on).
  const notes = previous.indexOf('\n### ');
  fs.writeFileSync(out, lines.join('\n') + (notes >= 0 ? previous.slice(notes) : ''));
  process.stderr.write(`[bench] wrote ${out} (${results.length} rows)\n`);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
