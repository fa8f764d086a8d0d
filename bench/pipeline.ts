/**
 * Whole-pipeline benchmark: runs every stage's CLI in order on N generated rows (fresh DATA_DIR, no
 * Nx cache) and, right after our features, build and evaluate, the same work written as DuckDB SQL
 * (bench/duckdb-stages.ts) on the same inputs, each in its own process. Writes per-stage seconds,
 * rows/s, CPU seconds and peak RSS of both into docs/bench-pipeline.md (merged into
 * docs/benchmarks.md by tools/merge-benchmarks.js), and checks, untimed, that DuckDB's output equals
 * ours (bench/duckdb-stages.ts --check).
 *
 * Usage: npx tsx bench/pipeline.ts [--rows 1000000,10000000] [--seed 11] [--keep] [--raw-dir <dir>]
 *          [--work <dir>] [--duckdb-threads 2] [--duckdb-memory 4GB] [--no-duckdb]
 * --raw-dir reuses CSVs generated earlier: <dir>/<rows>/generated.csv is used when it exists (and
 * written there with --seed when it does not), so repeated runs skip the generator; the CSVs prepared
 * under /work/big/raw are seed 11. --work puts the data folders there instead of the OS temp folder.
 * Peak RSS is each process's own high-water mark (process.resourceUsage().maxRSS): ours as the stage
 * CLI records it in monitoring/runs.jsonl, DuckDB's as its process prints it (DuckDB runs in-process).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataLayout, readJsonl } from '@bolsillo/core';
import type { StageRun } from '@bolsillo/schema';

const STAGES = ['ingest', 'features', 'build', 'train', 'evaluate', 'monitor'] as const;
/** Stages with a DuckDB SQL counterpart, run right after ours on the same inputs. */
const DUCK_STAGES: ReadonlySet<string> = new Set(['features', 'build', 'evaluate']);
const root = path.resolve(__dirname, '..');
const tsx = path.join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs');

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '11' },
    keep: { type: 'boolean', default: false },
    'raw-dir': { type: 'string' },
    work: { type: 'string' },
    'duckdb-threads': { type: 'string', default: '2' },
    'duckdb-memory': { type: 'string', default: '4GB' },
    'no-duckdb': { type: 'boolean', default: false },
  },
});

function run(args: string[], env: NodeJS.ProcessEnv): string {
  const r = spawnSync(process.execPath, [tsx, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 << 20,
  });
  const out = r.stdout?.toString() ?? '';
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited with ${r.status}\n${out}`);
  return out;
}

/** What the DuckDB process reports about itself (bench/duckdb-stages.ts --stage). */
interface DuckRun {
  process: number;
  seconds: number;
  cpu: number;
  rss: number;
  rowsIn: number;
  rowsOut: number;
  check: string;
}

function field(text: string, name: string): number {
  const m = new RegExp(`${name}=(\\d+(\\.\\d+)?)`).exec(text);
  if (!m) throw new Error(`duckdb stage printed no ${name}: ${text}`);
  return Number(m[1]);
}

function duck(stage: string, dataDir: string, out: string): DuckRun {
  const base = ['bench/duckdb-stages.ts', '--data-dir', dataDir, '--out', out];
  const t0 = performance.now();
  const text = run(
    [
      ...base,
      '--stage',
      stage,
      '--threads',
      String(values['duckdb-threads']),
      '--memory-limit',
      String(values['duckdb-memory']),
    ],
    {},
  );
  const processSeconds = (performance.now() - t0) / 1000;
  // Untimed: DuckDB's output against ours (exit 1 on a difference; the bench records it, then goes on).
  const c = spawnSync(process.execPath, [tsx, ...base, '--check', stage], { cwd: root, encoding: 'utf8' });
  const lines = (c.stderr ?? '').trim().split('\n');
  const check = c.status === 0 ? 'same' : `**differs** (${lines.at(-1) ?? `exit ${c.status}`})`;
  if (c.status !== 0) console.error(c.stderr);
  return {
    process: processSeconds,
    seconds: field(text, 'seconds'),
    cpu: field(text, 'cpu_seconds'),
    rss: field(text, 'peak_rss_mb'),
    rowsIn: field(text, 'rows_in'),
    rowsOut: field(text, 'rows_out'),
    check,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

const sections: string[] = [];
for (const rows of String(values.rows).split(',').map(Number)) {
  const work = fs.mkdtempSync(path.join(values.work ?? os.tmpdir(), `bench-pipeline-${rows}-`));
  const rawDir = values['raw-dir'] ? path.resolve(values['raw-dir'], String(rows)) : path.join(work, 'raw');
  const dataDir = path.join(work, 'data');
  const duckOut = path.join(work, 'duckdb');
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
  const ducks: Record<string, DuckRun> = {};
  const duckLoad: Record<string, string> = {};
  for (const stage of STAGES) {
    console.error(`[bench] ${stage} on ${rows} rows`);
    let before = os.loadavg()[0]!;
    const t0 = performance.now();
    run([`packages/${stage}/src/cli.ts`], env);
    wall[stage] = (performance.now() - t0) / 1000;
    load[stage] = `${before.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`;
    if (DUCK_STAGES.has(stage) && !values['no-duckdb']) {
      console.error(`[bench] duckdb ${stage} on ${rows} rows`);
      before = os.loadavg()[0]!;
      ducks[stage] = duck(stage, dataDir, duckOut);
      duckLoad[stage] = `${before.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`;
    }
  }
  const runs = readJsonl<StageRun>(dataLayout(dataDir).stageRuns);
  const lines = [
    `### ${rows.toLocaleString('en-US')} generated rows (seed ${values.seed}, ${(bytes / 1e6).toFixed(0)} MB CSV, ${generated})`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ` +
      `by \`npx tsx bench/pipeline.ts --rows ${rows}\` (DuckDB ${values['duckdb-threads']} threads, memory_limit ${values['duckdb-memory']}).`,
    '',
    '| stage | engine | rows in | rows out | seconds (process) | rows in / s | CPU s | peak RSS (MB) | under 4 GB | same output as ours | load avg (1 min) before → after |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: | ---: |',
  ];
  for (const stage of STAGES) {
    const r = runs.filter((x) => x.stage === stage && x.status === 'ok').at(-1);
    if (!r) continue;
    lines.push(
      `| ${stage} | ours | ${fmt(r.rows_in)} | ${fmt(r.rows_out)} | ${wall[stage]!.toFixed(1)} | ${fmt(r.rows_in / Math.max(wall[stage]!, 1e-9))} | ${r.cpu_seconds.toFixed(1)} | ${r.peak_rss_mb.toFixed(0)} | ${r.peak_rss_mb < 4096 ? 'yes' : '**no**'} | | ${load[stage]} |`,
    );
    const d = ducks[stage];
    if (d)
      lines.push(
        `| ${stage} | DuckDB SQL | ${fmt(d.rowsIn)} | ${fmt(d.rowsOut)} | ${d.process.toFixed(1)} | ${fmt(d.rowsIn / Math.max(d.process, 1e-9))} | ${d.cpu.toFixed(1)} | ${d.rss.toFixed(0)} | ${d.rss < 4096 ? 'yes' : '**no**'} | ${d.check} | ${duckLoad[stage]} |`,
      );
  }
  const peak = Math.max(...runs.map((r) => r.peak_rss_mb));
  const total = Object.values(wall).reduce((a, b) => a + b, 0);
  const ratios = [...DUCK_STAGES]
    .filter((s) => ducks[s] && wall[s])
    .map((s) => `${s} ${(wall[s]! / ducks[s]!.process).toFixed(1)}×`);
  lines.push(
    '',
    `Peak RSS over our stages: ${peak.toFixed(0)} MB. Total of our stages: ${total.toFixed(1)} s.` +
      (ratios.length ? ` Our seconds ÷ DuckDB's (process to process): ${ratios.join(', ')}.` : ''),
    '',
  );
  sections.push(lines.join('\n'));
  if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
}

const header = [
  '## Whole pipeline',
  '',
  'Every stage on the same generated data, and features, build and evaluate each beside the same work written as DuckDB SQL',
  '(`bench/duckdb-stages.ts`, run right after our stage on the same inputs, in the same run): the scale goals of issue 20.',
  'Each stage runs as its own process, as `nx run-many -t pipeline` runs it; seconds include process start-up (tsx, about 1–2 s) for both engines.',
  '"Same output as ours" is checked after the timing (`bench/duckdb-stages.ts --check`): see the notes for what is compared.',
  '',
].join('\n');
fs.mkdirSync(path.join(root, 'docs'), { recursive: true });
// Each size replaces its own section; the other sizes' sections and the hand-written notes after
// the marker line survive a re-run.
const out = path.join(root, 'docs', 'bench-pipeline.md');
const MARK = '<!-- notes -->';
const old = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
const notes = old.split(`${MARK}\n`)[1] ?? '';
const sizeOf = (section: string): number =>
  Number(/^### ([\d,]+) generated rows/.exec(section)?.[1]?.replace(/,/g, ''));
const kept = (old.split(`${MARK}\n`)[0] ?? '')
  .split(/\n(?=### )/)
  .filter((s) => s.startsWith('### '))
  .map((s) => `${s.trimEnd()}\n`);
const bySize = new Map<number, string>();
for (const s of [...kept, ...sections]) bySize.set(sizeOf(s), s); // this run's sections come last and win
const all = [...bySize].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
fs.writeFileSync(out, `${header}${all.join('\n')}${notes ? `\n${MARK}\n${notes}` : ''}`);
console.error('[bench] wrote docs/bench-pipeline.md');
