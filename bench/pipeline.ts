/**
 * Whole-pipeline benchmark: runs every stage's CLI in order on N generated rows (fresh DATA_DIR, no
 * Nx cache) and, right after our features, build and evaluate, the same work written as DuckDB SQL
 * (bench/duckdb-stages.ts) on the same inputs, each in its own process. Writes per-stage seconds,
 * rows/s, CPU seconds and peak RSS of both into docs/bench-pipeline.md (merged into
 * docs/benchmarks.md by tools/merge-benchmarks.js), and checks, untimed, that DuckDB's output equals
 * ours (bench/duckdb-stages.ts --check).
 *
 * Usage: npx tsx bench/pipeline.ts [--rows 1000000,10000000] [--seed 11] [--keep] [--raw-dir <dir>]
 *          [--work <dir>] [--duckdb-threads 2] [--duckdb-memory 4GB] [--duckdb-parts 1] [--no-duckdb] [--drop-duckdb-output] [--duckdb-after] [--no-check]
 *          [--shards N [--parallel 2] [--ingest-parts]] [--until <stage>] [--resume <work folder> --from <stage>]
 * Our stages run as `npm run pipeline` runs them (tools/run-sharded.js, one `node --import tsx` process
 * a stage). --shards N runs ingest, features, build and evaluate as a cluster does: N shard
 * processes, at most --parallel at once, then the stage's merge; the table adds their CPU and shows the
 * largest peak RSS of one process. --ingest-parts runs ingest instead as one process that parses the
 * CSV once and writes the N shards' lake (`ingest --parts N`), as a single machine would. Each finished
 * stage is written into the doc and into
 * <work>/bench-results.json, so a long run (100M rows) can go on later from a stage with
 * --resume <work> --from <stage> (given the same --rows, --shards, --parallel); --until <stage> stops
 * after that stage (use --keep to go on later).
 * --no-check skips the untimed comparison of DuckDB's output with ours (at 100M rows it takes about as
 * long as the stage; the smaller sizes check it).
 * --drop-duckdb-output deletes DuckDB's output of a stage once it is checked (disk at 100M rows).
 * --duckdb-parts K runs DuckDB's features and build as K queries over K sets of customers, one after
 * another (bench/duckdb-stages.ts --parts), so its spill files fit the disk at 100M rows.
 * --duckdb-after runs DuckDB's stages after all of ours (on the same inputs), so a long run that is
 * stopped during DuckDB's still has the whole pipeline of ours.
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
import { dataLayout, readJsonl, writeJsonAtomic } from '@bolsillo/core';
import type { StageRun } from '@bolsillo/schema';

const STAGES = ['ingest', 'features', 'build', 'train', 'evaluate', 'monitor'] as const;
type Stage = (typeof STAGES)[number];
/** Stages with a DuckDB SQL counterpart, run right after ours on the same inputs. */
const DUCK_STAGES: ReadonlySet<string> = new Set(['features', 'build', 'evaluate']);
/** Stages that split by customer (`--shard i/N`, then `--merge`), as tools/run-sharded.js runs them. */
const SHARDED: ReadonlySet<string> = new Set(['ingest', 'features', 'build', 'evaluate']);
const root = path.resolve(__dirname, '..');
const { runSharded } = require('../tools/run-sharded') as {
  runSharded: (o: {
    shards: number;
    parallel: number;
    ingestParts: boolean;
    env: NodeJS.ProcessEnv;
    stages: string[];
    out: NodeJS.WritableStream;
    err: NodeJS.WritableStream;
  }) => Promise<{ code: number; stages: Map<string, { error?: string }> }>;
};
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
    'duckdb-parts': { type: 'string', default: '1' },
    'no-duckdb': { type: 'boolean', default: false },
    'duckdb-after': { type: 'boolean', default: false },
    'drop-duckdb-output': { type: 'boolean', default: false },
    'no-check': { type: 'boolean', default: false },
    shards: { type: 'string', default: '1' },
    parallel: { type: 'string', default: '2' },
    resume: { type: 'string' },
    from: { type: 'string' },
    until: { type: 'string' },
    'ingest-parts': { type: 'boolean', default: false },
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
  const base = [
    'bench/duckdb-stages.ts',
    '--data-dir',
    dataDir,
    '--out',
    out,
    '--parts',
    String(values['duckdb-parts']),
  ];
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
  if (values['no-check']) return { ...figures(text, processSeconds), check: 'not checked (--no-check)' };
  // Untimed: DuckDB's output against ours (exit 1 on a difference; the bench records it, then goes on).
  const c = spawnSync(process.execPath, [tsx, ...base, '--check', stage], { cwd: root, encoding: 'utf8' });
  const lines = (c.stderr ?? '').trim().split('\n');
  const check = c.status === 0 ? 'same' : `**differs** (${lines.at(-1) ?? `exit ${c.status}`})`;
  if (c.status !== 0) console.error(c.stderr);
  return { ...figures(text, processSeconds), check };
}

/** DuckDB's figures from the line its `--stage` run prints. */
function figures(text: string, processSeconds: number): Omit<DuckRun, 'check'> {
  return {
    process: processSeconds,
    seconds: field(text, 'seconds'),
    cpu: field(text, 'cpu_seconds'),
    rss: field(text, 'peak_rss_mb'),
    rowsIn: field(text, 'rows_in'),
    rowsOut: field(text, 'rows_out'),
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** One stage's figures as the doc's table shows them; kept in the data folder so a resumed run has them. */
interface OursRun {
  rowsIn: number;
  rowsOut: number;
  wall: number;
  cpu: number;
  rss: number;
  processes: number;
}
interface StageResult {
  at: string;
  ours: OursRun;
  load: string;
  duck?: DuckRun;
  duckLoad?: string;
}
interface SizeResults {
  /** DuckDB's stages ran after all of ours (`--duckdb-after`). */
  duckdbAfter?: boolean;
  rows: number;
  csvBytes: number;
  generated: string;
  shards: number;
  parallel: number;
  /** Ingest ran as one process writing the N parts (`ingest --parts N`). */
  ingestParts: boolean;
  stages: Record<string, StageResult>;
}

/**
 * Our stage's figures from the runs its processes appended to monitoring/runs.jsonl: rows in and out
 * as the one process or the merge reports them (the whole data), except features, whose merge counts
 * online-store states and customers, so its shards' rows are added up; CPU added up over every
 * process, and the highest peak RSS of any one.
 */
function oursFrom(stage: string, runs: readonly StageRun[], wall: number): OursRun {
  const ok = runs.filter((r) => r.status === 'ok');
  const last = ok.at(-1);
  if (!last) throw new Error(`${stage} recorded no successful run`);
  const shardRuns = ok.filter((r) => r !== last);
  const sum = (f: (r: StageRun) => number): number => shardRuns.reduce((a, r) => a + f(r), 0);
  const bySum = stage === 'features' && shardRuns.length > 0;
  return {
    rowsIn: bySum ? sum((r) => r.rows_in) : last.rows_in,
    rowsOut: bySum ? sum((r) => r.rows_out) : last.rows_out,
    wall,
    cpu: ok.reduce((a, r) => a + r.cpu_seconds, 0),
    rss: Math.max(...ok.map((r) => r.peak_rss_mb)),
    processes: ok.length,
  };
}

function section(r: SizeResults): string {
  const done = STAGES.filter((s) => r.stages[s]);
  const ats = done.map((s) => r.stages[s]!.at).sort();
  const when =
    ats.length === 0
      ? 'not measured yet'
      : ats[0]!.slice(0, 10) === ats.at(-1)!.slice(0, 10)
        ? `${ats[0]!.slice(0, 16).replace('T', ' ')}–${ats.at(-1)!.slice(11, 16)} UTC`
        : `${ats[0]!.slice(0, 16).replace('T', ' ')} – ${ats.at(-1)!.slice(0, 16).replace('T', ' ')} UTC`;
  const how =
    r.shards > 1
      ? `${r.ingestParts ? `, ingest as one process writing ${r.shards} parts` : ''}, ${(r.ingestParts ? ['features', 'build', 'evaluate'] : ['ingest', 'features', 'build', 'evaluate']).join(', ')} as ${r.shards} shard processes (at most ${r.parallel} at once) and a merge; seconds, CPU and rows in cover them all, peak RSS is the largest of one process`
      : '';
  const lines = [
    `### ${r.rows.toLocaleString('en-US')} generated rows (seed ${values.seed}, ${(r.csvBytes / 1e6).toFixed(0)} MB CSV, ${r.generated})`,
    '',
    `Measured ${when} on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ` +
      `by \`npx tsx bench/pipeline.ts --rows ${r.rows}${r.shards > 1 ? ` --shards ${r.shards} --parallel ${r.parallel}${r.ingestParts ? ' --ingest-parts' : ''}` : ''}${r.duckdbAfter ? ' --duckdb-after' : ''}\`${done.some((s) => r.stages[s]!.duck) ? ` (DuckDB ${values['duckdb-threads']} threads, memory_limit ${values['duckdb-memory']})` : ''}${how}.`,
    '',
    '| stage | engine | rows in | rows out | seconds (process) | rows in / s | CPU s | peak RSS (MB) | under 4 GB | same output as ours | load avg (1 min) before → after |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | :---: | :---: | ---: |',
  ];
  for (const stage of done) {
    const { ours: o, load, duck: d, duckLoad } = r.stages[stage]!;
    lines.push(
      `| ${stage} | ours${o.processes > 1 ? ` (${o.processes} processes)` : ''} | ${fmt(o.rowsIn)} | ${fmt(o.rowsOut)} | ${o.wall.toFixed(1)} | ${fmt(o.rowsIn / Math.max(o.wall, 1e-9))} | ${o.cpu.toFixed(1)} | ${o.rss.toFixed(0)} | ${o.rss < 4096 ? 'yes' : '**no**'} | | ${load} |`,
    );
    if (d)
      lines.push(
        `| ${stage} | DuckDB SQL | ${fmt(d.rowsIn)} | ${fmt(d.rowsOut)} | ${d.process.toFixed(1)} | ${fmt(d.rowsIn / Math.max(d.process, 1e-9))} | ${d.cpu.toFixed(1)} | ${d.rss.toFixed(0)} | ${d.rss < 4096 ? 'yes' : '**no**'} | ${d.check} | ${duckLoad} |`,
      );
  }
  const missing = STAGES.filter((s) => !r.stages[s]);
  const peak = Math.max(...done.map((s) => r.stages[s]!.ours.rss));
  const total = done.reduce((a, s) => a + r.stages[s]!.ours.wall, 0);
  const ratios = [...DUCK_STAGES]
    .filter((s) => r.stages[s]?.duck)
    .map((s) => `${s} ${(r.stages[s]!.ours.wall / r.stages[s]!.duck!.process).toFixed(1)}×`);
  lines.push(
    '',
    `Peak RSS over our stages: ${peak.toFixed(0)} MB. Total of our stages${missing.length ? ` measured so far (not yet: ${missing.join(', ')})` : ''}: ${total.toFixed(1)} s.` +
      (ratios.length ? ` Our seconds ÷ DuckDB's (process to process): ${ratios.join(', ')}.` : ''),
    '',
  );
  return lines.join('\n');
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
function writeDoc(sections: readonly string[]): void {
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
}

const shards = Number(values.shards);
const parallel = Number(values.parallel);
if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards takes a whole number ≥ 1, got ${values.shards}`);
if (!Number.isInteger(parallel) || parallel < 1)
  throw new Error(`--parallel takes a whole number ≥ 1, got ${values.parallel}`);
const from = values.from ?? STAGES[0];
if (!STAGES.includes(from as never)) throw new Error(`--from takes one of ${STAGES.join(', ')}, got ${from}`);
const until = values.until ?? STAGES[STAGES.length - 1];
if (!STAGES.includes(until as never)) throw new Error(`--until takes one of ${STAGES.join(', ')}, got ${until}`);
const sizes = String(values.rows).split(',').map(Number);
if (values.from && (!values.resume || sizes.length !== 1))
  throw new Error('--from goes with --resume <work folder of an earlier run of one --rows size>');

async function main(): Promise<void> {
  for (const rows of sizes) {
    const work = values.resume
      ? path.resolve(values.resume)
      : fs.mkdtempSync(path.join(values.work ?? os.tmpdir(), `bench-pipeline-${rows}-`));
    const rawDir = values['raw-dir'] ? path.resolve(values['raw-dir'], String(rows)) : path.join(work, 'raw');
    const dataDir = path.join(work, 'data');
    const duckOut = path.join(work, 'duckdb');
    const resultsFile = path.join(work, 'bench-results.json');
    fs.mkdirSync(rawDir, { recursive: true });
    const env = { RAW_DIR: rawDir, DATA_DIR: dataDir };
    const csv = path.join(rawDir, 'generated.csv');
    let generated = 'reused';
    // A resumed run past ingest reads only the data folder: the CSV may be gone (disk at 100M rows).
    if (!fs.existsSync(csv) && (!values.resume || from === 'ingest')) {
      console.error(`[bench] generating ${rows} rows`);
      const g0 = performance.now();
      run(
        ['packages/ingest/src/generate-cli.ts', '--rows', String(rows), '--seed', String(values.seed), '--out', csv],
        env,
      );
      generated = `generated in ${((performance.now() - g0) / 1000).toFixed(1)} s`;
    }
    const results: SizeResults = values.resume
      ? (JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as SizeResults)
      : {
          rows,
          csvBytes: fs.statSync(csv).size,
          generated,
          shards,
          parallel,
          ingestParts: values['ingest-parts'],
          duckdbAfter: values['duckdb-after'] && !values['no-duckdb'],
          stages: {},
        };
    if (results.rows !== rows || results.shards !== shards || results.parallel !== parallel)
      throw new Error(
        `${resultsFile} is a run of ${results.rows} rows, ${results.shards} shards, parallel ${results.parallel}: resume it with the same options`,
      );
    /** DuckDB's run of `stage` on the inputs ours read, recorded beside ours. */
    const runDuck = (stage: string): void => {
      console.error(`[bench] duckdb ${stage} on ${rows} rows`);
      const before = os.loadavg()[0]!;
      const result = results.stages[stage]!;
      result.duck = duck(stage, dataDir, duckOut);
      result.duckLoad = `${before.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}`;
      // DuckDB's output of a stage is only read by its check: free the disk before the next stage.
      if (values['drop-duckdb-output']) fs.rmSync(duckOut, { recursive: true, force: true });
    };
    const layout = dataLayout(dataDir);
    const runsSoFar = (): number =>
      fs.existsSync(layout.stageRuns) ? readJsonl<StageRun>(layout.stageRuns).length : 0;
    for (const stage of STAGES.slice(STAGES.indexOf(from as Stage), STAGES.indexOf(until as Stage) + 1)) {
      console.error(
        `[bench] ${stage} on ${rows} rows${shards > 1 && SHARDED.has(stage) ? (stage === 'ingest' && values['ingest-parts'] ? ` in ${shards} parts` : ` in ${shards} shards`) : ''}`,
      );
      const before = os.loadavg()[0]!;
      const seen = runsSoFar();
      const at = new Date().toISOString();
      const t0 = performance.now();
      // As `npm run pipeline -- --shards N --parallel P [--ingest-parts]` runs the stage (one process when N = 1).
      const run = await runSharded({
        shards,
        parallel,
        ingestParts: values['ingest-parts'],
        env: { ...process.env, ...env },
        stages: [stage],
        out: process.stderr,
        err: process.stderr,
      });
      if (run.code !== 0) throw new Error(`${stage} failed: ${run.stages.get(stage)?.error ?? 'no summary'}`);
      const wall = (performance.now() - t0) / 1000;
      const ours = oursFrom(stage, readJsonl<StageRun>(layout.stageRuns).slice(seen), wall);
      const result: StageResult = { at, ours, load: `${before.toFixed(1)} → ${os.loadavg()[0]!.toFixed(1)}` };
      results.stages[stage] = result;
      // Ours is recorded before DuckDB's run starts, so a run stopped during DuckDB's keeps it.
      writeJsonAtomic(resultsFile, results);
      writeDoc([section(results)]);
      if (DUCK_STAGES.has(stage) && !values['no-duckdb'] && !values['duckdb-after']) {
        runDuck(stage);
        writeJsonAtomic(resultsFile, results);
        writeDoc([section(results)]);
      }
    }
    // --duckdb-after: every stage of ours first (a long run then has the whole pipeline even if it is
    // stopped during DuckDB's), then DuckDB's on the same inputs, which no later stage of ours changed.
    if (values['duckdb-after'] && !values['no-duckdb']) {
      // Shortest first (at 10M: features, evaluate, then build), so a stopped run has the most of them.
      for (const stage of ['features', 'evaluate', 'build']) {
        if (!results.stages[stage] || results.stages[stage]!.duck) continue;
        runDuck(stage);
        writeJsonAtomic(resultsFile, results);
        writeDoc([section(results)]);
      }
    }
    if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
