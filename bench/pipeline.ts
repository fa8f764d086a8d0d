/**
 * Whole-pipeline benchmark: generates N rows of the MiBolsillo dialect, runs every stage's CLI in
 * order on them (fresh DATA_DIR, no Nx cache), and writes per-stage rows/s, seconds, CPU seconds and
 * peak RSS into docs/bench-pipeline.md (merged into docs/benchmarks.md).
 *
 * Usage: npx tsx bench/pipeline.ts [--rows 1000000,10000000] [--seed 7] [--keep] [--raw-dir <dir>]
 * --raw-dir reuses CSVs generated earlier: <dir>/<rows>/generated.csv is used when it exists (and
 * written there when it does not), so repeated runs skip the generator.
 * Peak RSS is each stage process's own high-water mark (process.resourceUsage().maxRSS), as the stage
 * CLI records it in monitoring/runs.jsonl.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataLayout, readJsonl } from '@bolsillo/core';
import type { StageRun } from '@bolsillo/schema';

const STAGES = ['ingest', 'features', 'build', 'train', 'evaluate', 'monitor'] as const;
const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '7' },
    keep: { type: 'boolean', default: false },
    'raw-dir': { type: 'string' },
  },
});

function run(args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(process.execPath, [tsx, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}`);
}

const sections: string[] = [];
for (const rows of String(values.rows).split(',').map(Number)) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), `bench-pipeline-${rows}-`));
  const rawDir = values['raw-dir']
    ? path.resolve(values['raw-dir'], `${rows}-seed${values.seed}`)
    : path.join(work, 'raw');
  const dataDir = path.join(work, 'data');
  fs.mkdirSync(rawDir, { recursive: true });
  const env = { RAW_DIR: rawDir, DATA_DIR: dataDir };
  const csv = path.join(rawDir, 'generated.csv');
  let generated = 'reused';
  if (!fs.existsSync(csv)) {
    console.error(`[bench] generating ${rows} rows`);
    const g0 = performance.now();
    run(
      ['packages/ingest/src/generate-cli.ts', '--rows', String(rows), '--seed', String(values.seed), '--out', csv],
      env,
    );
    generated = `generated in ${((performance.now() - g0) / 1000).toFixed(1)} s`;
  }
  const bytes = fs.statSync(csv).size;
  const wall: Record<string, number> = {};
  const load: Record<string, string> = {};
  for (const stage of STAGES) {
    console.error(`[bench] ${stage} on ${rows} rows`);
    const before = os.loadavg()[0]!;
    const t0 = performance.now();
    run([`packages/${stage}/src/cli.ts`], env);
    wall[stage] = (performance.now() - t0) / 1000;
    load[stage] = `${before.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`;
  }
  const runs = readJsonl<StageRun>(dataLayout(dataDir).stageRuns);
  const lines = [
    `### ${rows.toLocaleString('en-US')} generated rows (seed ${values.seed}, ${(bytes / 1e6).toFixed(0)} MB CSV, ${generated})`,
    '',
    '| stage | rows in | rows out | seconds (process) | rows in / s | CPU s | peak RSS (MB) | under 4 GB | load avg (1 min) before → after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: |',
  ];
  for (const stage of STAGES) {
    const r = runs.filter((x) => x.stage === stage && x.status === 'ok').at(-1);
    if (!r) continue;
    lines.push(
      `| ${stage} | ${r.rows_in.toLocaleString('en-US')} | ${r.rows_out.toLocaleString('en-US')} | ${wall[stage]!.toFixed(1)} | ${Math.round(r.rows_in / Math.max(r.wall_seconds, 1e-9)).toLocaleString('en-US')} | ${r.cpu_seconds.toFixed(1)} | ${r.peak_rss_mb.toFixed(0)} | ${r.peak_rss_mb < 4096 ? 'yes' : '**no**'} | ${load[stage]} |`,
    );
  }
  const peak = Math.max(...runs.map((r) => r.peak_rss_mb));
  lines.push(
    '',
    `Peak RSS over all stages: ${peak.toFixed(0)} MB. Total: ${Object.values(wall)
      .reduce((a, b) => a + b, 0)
      .toFixed(1)} s.`,
    '',
  );
  sections.push(lines.join('\n'));
  if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
}

const header = [
  '## Whole pipeline',
  '',
  'Every stage on the same generated data, 1M then 10M rows: the scale goals of issue 10 (every stage under 4 GB at 10M).',
  `Measured ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, by \`npx tsx bench/pipeline.ts --rows ${values.rows}\`.`,
  'Each stage runs as its own process, as `nx run-many -t pipeline` runs it; seconds include process start-up.',
  '',
].join('\n');
fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
// Hand-written notes after the marker line survive a re-run.
const out = path.join(root, 'docs', 'bench-pipeline.md');
const MARK = '<!-- notes -->';
const notes = fs.existsSync(out) ? (fs.readFileSync(out, 'utf8').split(`${MARK}\n`)[1] ?? '') : '';
fs.writeFileSync(out, `${header}${sections.join('\n')}${notes ? `\n${MARK}\n${notes}` : ''}`);
console.error('[bench] wrote docs/bench-pipeline.md');
