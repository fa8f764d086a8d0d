#!/usr/bin/env node
// Runs the whole pipeline through Nx (`nx run-many -t pipeline`, every stage in dependency order,
// cached) and ends with a table: stage, what went in and out (with its unit), seconds, cache hit or not.
// Extra arguments go to Nx, e.g. `npm run pipeline -- --skip-nx-cache`.
//
// `--shards N` runs the pipeline as a cluster does instead (tools/run-sharded.js): each stage that splits
// by customer as N local processes (`--shard i/N`) and then its merge, the others as one process, in
// order, without Nx or its cache. `--parallel P` runs at most P shard processes at once (memory on one
// machine); `--ingest-parts` parses the CSV once for all N ingest parts (`ingest --parts N`).
//
// - One pipeline per data folder: a second run on the same DATA_DIR while one runs is refused (exit 1).
// - After Nx reports success, every stage's output must be in DATA_DIR; when one is missing (a cache hit
//   replayed for outputs that are not there), the data folder's identity is rotated and the pipeline runs
//   once more without the cache; if the output is still missing the run fails.
// - Exit code 0 when every stage succeeded, 1 otherwise (never Nx's own codes, e.g. 130).
const { spawn } = require('node:child_process');
const {
  acquireLock,
  dataDirFromEnv,
  missingOutputs,
  rotateIdentity,
  LOCK_ENV,
  STAGE_OUTPUTS,
} = require('./data-folder');
const { runSharded } = require('./run-sharded');

const STAGES = Object.keys(STAGE_OUTPUTS);
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

/** Parse Nx's and the stages' output lines into per-stage facts (pure; lines without colour codes). */
function scanLine(stages, raw) {
  const line = raw.replace(ANSI, '');
  const get = (name) => {
    if (!stages.has(name)) stages.set(name, { stage: name });
    return stages.get(name);
  };
  // "> nx run ingest:pipeline" or "> nx run ingest:pipeline  [local cache]" / "[existing outputs match the cache, left as is]"
  const run = /nx run ([\w-]+):pipeline(.*)$/.exec(line);
  if (run) {
    const s = get(run[1]);
    s.cache = /cache/.test(run[2]) ? 'hit' : (s.cache ?? 'miss');
  }
  // "[train] done: rows in 1572, models out 3, 20.85s" (older stages: "rows in N, rows out M")
  const done = /\[([\w-]+)\] done: (.+?) in (\d+), (.+?) out (\d+), ([\d.]+)s/.exec(line);
  if (done) {
    Object.assign(get(done[1]), {
      status: 'ok',
      unitIn: done[2],
      rowsIn: Number(done[3]),
      unitOut: done[4],
      rowsOut: Number(done[5]),
      seconds: Number(done[6]),
    });
  }
  const error = /\[([\w-]+)\] error: (.*)$/.exec(line);
  if (error && STAGES.includes(error[1])) Object.assign(get(error[1]), { status: 'failed', error: error[2] });
}

/** The closing table (pure): one row per pipeline stage, in run order; the last column is Nx's cache, or how a sharded run ran the stage. */
function summaryTable(stages, last = 'cache') {
  const cell = (n, unit) => (n === undefined ? '-' : `${n} ${unit}`);
  const rows = STAGES.map((name) => stages.get(name) ?? { stage: name }).map((s) => [
    s.stage,
    cell(s.rowsIn, s.unitIn),
    cell(s.rowsOut, s.unitOut),
    s.seconds !== undefined && s.cache !== 'hit' ? s.seconds.toFixed(2) : '-',
    s.status === 'failed' ? 'FAILED' : (s.cache ?? 'not run'),
  ]);
  const table = [['stage', 'in', 'out', 'seconds', last], ...rows];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [fmt(table[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(fmt)].join('\n');
}

function runNx(extraArgs, env) {
  return new Promise((resolve) => {
    const args = ['nx', 'run-many', '-t', 'pipeline', '--outputStyle=stream-without-prefixes', ...extraArgs];
    const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    const stages = new Map();
    const pump = (stream, out) => {
      let buffer = '';
      stream.on('data', (chunk) => {
        out.write(chunk);
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) scanLine(stages, l);
      });
      stream.on('end', () => buffer && scanLine(stages, buffer));
    };
    pump(child.stdout, process.stdout);
    pump(child.stderr, process.stderr);
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('close', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve({ code: code ?? (signal ? 1 : 0), signal, stages });
    });
  });
}

/**
 * The sharded run's options out of the arguments (pure): `--shards N` (or `--shards=N`; null without),
 * `--parallel P` (shard processes at once, default all N) and `--ingest-parts` (ingest as one process
 * writing the N parts), and the rest. The last two need `--shards`.
 */
function shardsOption(argv) {
  const rest = [];
  let shards = null;
  let parallel = null;
  let ingestParts = false;
  const count = (name, value, max) => {
    if (value === undefined || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max)
      throw new Error(
        `${name} takes a ${name === '--shards' ? 'shard' : 'process'} count, 1..${max} (got ${value === undefined ? 'nothing' : JSON.stringify(value)})`,
      );
    return Number(value);
  };
  for (let i = 0; i < argv.length; i++) {
    const m = /^(--shards|--parallel)(?:=(.*))?$/.exec(argv[i]);
    if (m) {
      const value = m[2] ?? argv[++i];
      if (m[1] === '--shards') shards = count('--shards', value, 1024);
      else parallel = count('--parallel', value, 1024);
    } else if (argv[i] === '--ingest-parts') ingestParts = true;
    else rest.push(argv[i]);
  }
  if ((parallel !== null || ingestParts) && shards === null)
    throw new Error('--parallel and --ingest-parts go with --shards N');
  return { shards, parallel: parallel ?? shards, ingestParts, rest };
}

async function main() {
  const started = Date.now();
  const { shards, parallel, ingestParts, rest } = shardsOption(process.argv.slice(2));
  const dataDir = dataDirFromEnv();
  const lock = acquireLock(dataDir, 'pipeline');
  if (lock.held) {
    process.stderr.write(
      `pipeline: refused: another pipeline (pid ${lock.held.pid}, ${lock.held.what}, since ${lock.held.started_at ?? '?'}) is running on ${dataDir}; ` +
        'two runs on one data folder would interleave their writes. Run again when it has finished.\n',
    );
    return 1;
  }
  // Nx's performance report would advertise Nx Cloud; the stages' colours would break the table.
  const env = {
    ...process.env,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
    FORCE_COLOR: '0',
    [LOCK_ENV]: String(process.pid),
  };
  const release = () => lock.release();
  process.on('exit', release);
  if (shards !== null && shards > 1) {
    if (rest.length > 0) throw new Error(`with --shards, no other arguments (Nx does not run): ${rest.join(' ')}`);
    const r = await runSharded({ shards, parallel, ingestParts, env, stages: STAGES });
    const still = r.code === 0 ? missingOutputs(dataDir) : [];
    const how = r.code !== 0 ? 'FAILED' : still.length > 0 ? `FAILED: outputs missing: ${still.join(', ')}` : 'ok';
    process.stdout.write(
      `\nPipeline summary (${((Date.now() - started) / 1000).toFixed(1)}s, ${shards} shards${parallel < shards ? `, at most ${parallel} at once` : ''}, ${how}; data folder ${dataDir})\n`,
    );
    process.stdout.write(`${summaryTable(r.stages, 'ran as')}\n`);
    for (const s of r.stages.values())
      if (s.status === 'failed') process.stdout.write(`${s.stage} failed: ${s.error}\n`);
    return r.code === 0 && still.length === 0 ? 0 : 1;
  }
  let result = await runNx(rest, env);
  let problem = null;
  if (result.code === 0) {
    const missing = missingOutputs(dataDir);
    if (missing.length > 0) {
      process.stdout.write(
        `\npipeline: Nx reported success but ${missing.map((s) => `${s} (${STAGE_OUTPUTS[s]})`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing from ${dataDir}: ` +
          'cache hits replay no outputs outside the workspace. Running every stage again without the cache.\n\n',
      );
      rotateIdentity(dataDir);
      result = await runNx([...rest.filter((a) => a !== '--skip-nx-cache'), '--skip-nx-cache'], env);
      const still = result.code === 0 ? missingOutputs(dataDir) : [];
      if (still.length > 0) problem = `outputs still missing after a run without the cache: ${still.join(', ')}`;
    }
  }
  const failed = result.code !== 0 || problem !== null;
  const how =
    result.code !== 0
      ? `FAILED (nx exited with ${result.signal ?? result.code})`
      : problem
        ? `FAILED: ${problem}`
        : 'ok';
  process.stdout.write(
    `\nPipeline summary (${((Date.now() - started) / 1000).toFixed(1)}s, ${how}; data folder ${dataDir})\n`,
  );
  process.stdout.write(`${summaryTable(result.stages)}\n`);
  for (const s of result.stages.values())
    if (s.status === 'failed') process.stdout.write(`${s.stage} failed: ${s.error}\n`);
  return failed ? 1 : 0;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (error) => {
      process.stderr.write(`pipeline: ${error.message}\n`);
      process.exit(1);
    },
  );
}

module.exports = { scanLine, summaryTable, shardsOption, STAGES };
