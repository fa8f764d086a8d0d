/**
 * Benchmark of the features stage: generated MiBolsillo-dialect rows → ingest (not timed here) →
 * features (full run, no-op rerun, and an incremental run where the last 7 days changed).
 * Each stage runs as its CLI in its own process; wall time, CPU time and peak RSS come from the
 * record runCli appends to `monitoring/runs.jsonl`.
 *
 *   npx tsx bench/features.ts --rows 1000000 [--seed 11] [--dir /tmp/bench-features] [--out docs/bench-features.md]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataLayout, generateChunks, listPartitions, readJsonl, writeFileAtomic, writeJsonAtomic } from '@bolsillo/core';
import type { StageRun } from '@bolsillo/schema';

const ROOT = path.resolve(__dirname, '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '11' },
    dir: { type: 'string' },
    out: { type: 'string', default: path.join('docs', 'bench-features.md') },
    // Generate and ingest only (e.g. prepare the 10M lake in the background ahead of the timed run).
    'lake-only': { type: 'boolean', default: false },
    // Skip the incremental run (it replays the whole history: long at 10M rows on a shared machine).
    'no-incremental': { type: 'boolean', default: false },
  },
});
const rows = Number(values.rows);
const dir = path.resolve(values.dir ?? path.join(os.tmpdir(), `bench-features-${rows}`));
const raw = path.join(dir, 'raw');
const layout = dataLayout(dir);

function runStage(cli: string, args: string[] = []): StageRun {
  const r = spawnSync(TSX, [cli, ...args], { cwd: ROOT, env: { ...process.env, DATA_DIR: dir, RAW_DIR: raw }, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cli} exited with ${r.status}`);
  const runs = readJsonl<StageRun>(path.join(layout.monitoring, 'runs.jsonl'));
  return runs[runs.length - 1]!;
}

function ensureLake(): void {
  const csv = path.join(raw, 'generated.csv');
  const marker = path.join(dir, 'generated.json');
  const want = JSON.stringify({ rows, seed: Number(values.seed) });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want && listPartitions(layout.lake).length > 0) return;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(raw, { recursive: true });
  const fd = fs.openSync(csv, 'w');
  for (const chunk of generateChunks({ rows, seed: Number(values.seed) })) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  const ingest = runStage('packages/ingest/src/cli.ts');
  process.stderr.write(`[bench] ingest: ${ingest.rows_out} rows in ${ingest.wall_seconds.toFixed(1)}s\n`);
  fs.writeFileSync(marker, want);
}

function line(label: string, run: StageRun, rowsProcessed: number): string {
  const s = run.summary as { partitionsWritten?: number } | undefined;
  return `| ${label} | ${rowsProcessed.toLocaleString('en')} | ${s?.partitionsWritten ?? '?'} | ${run.wall_seconds.toFixed(1)} | ${run.cpu_seconds.toFixed(1)} | ${Math.round(rowsProcessed / run.wall_seconds).toLocaleString('en')} | ${Math.round(rowsProcessed / run.cpu_seconds).toLocaleString('en')} | ${Math.round(run.peak_rss_mb)} |`;
}

ensureLake();
if (values['lake-only']) process.exit(0);
const loadStart = os.loadavg()[0]!;
const full = runStage('packages/features/src/cli.ts', ['--full']);
const loadAfterFull = os.loadavg()[0]!;
const noop = runStage('packages/features/src/cli.ts');
let incremental: StageRun | null = null;
if (!values['no-incremental']) {
  // Incremental: pretend the last 7 lake days changed by forgetting their hashes in the manifest.
  const manifestFile = path.join(path.dirname(layout.featureStore), 'manifest.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8')) as { inputs: Record<string, string> };
  const last7 = Object.keys(manifest.inputs).sort().slice(-7);
  for (const d of last7) manifest.inputs[d] = 'changed';
  writeJsonAtomic(manifestFile, manifest);
  incremental = runStage('packages/features/src/cli.ts');
}
const loadEnd = os.loadavg()[0]!;
const customers = (full.summary as { customers?: number }).customers;

const text = [
  '## Features stage',
  '',
  `Generated rows in the MiBolsillo dialect (core generator, seed ${values.seed}), ingested to the lake, then the features`,
  `CLI (\`tsx packages/features/src/cli.ts\`) in its own process. ${full.rows_in.toLocaleString('en')} rows, ${listPartitions(layout.lake).length} date partitions, ${customers} customers.`,
  `Machine: ${os.cpus().length} cores, shared with other jobs (1-minute load average ${loadStart.toFixed(1)} at start, ${loadAfterFull.toFixed(1)} after the full run, ${loadEnd.toFixed(1)} at the end), Node ${process.version}.`,
  'Times and peak RSS from `monitoring/runs.jsonl` (recorded by runCli). Command: `npx tsx bench/features.ts --rows ' + rows + (values['no-incremental'] ? ' --no-incremental' : '') + '`.',
  '',
  '| Run | Rows processed | Partitions written | Wall s | CPU s | Rows/s (wall) | Rows/s (CPU) | Peak RSS MB |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  line('full recompute', full, full.rows_in),
  line('no-op rerun (inputs unchanged)', noop, full.rows_in),
  ...(incremental ? [line(`incremental (last 7 days changed: replays history, rewrites 7)`, incremental, incremental.rows_in)] : []),
  '',
  'Rows/s counts the rows the run read; the no-op rerun only hashes the lake partitions. CPU s is the whole',
  "process (both threads). With a load average far above the 2 cores, wall time mostly measures the other jobs' share.",
  '',
].join('\n');
writeFileAtomic(path.resolve(ROOT, values.out!), text);
process.stdout.write(text);
