// The pipeline as a cluster runs it (`npm run pipeline -- --shards N`, docker/k8s/sharded): each stage
// that splits by customer runs as N processes (`--shard i/N`, what the pods of an Indexed Job are), at
// most `parallel` at once (the Job's `parallelism`; all N by default), then its merge (`--merge`, the
// merge Job); the other stages run as one process. With `ingestParts`, ingest runs as one process that
// parses the CSV once and writes the N shards' lake (`ingest --parts N`), as one machine would. Stages
// run in order and the first failure stops the run (no new shard starts after a failed one). No Nx
// cache: every stage runs.
const { spawn } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
/** The stages that split into shards (their CLIs take --shard i/N and --merge). */
const SHARDED_STAGES = ['ingest', 'features', 'build', 'evaluate'];
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07/g;

/**
 * The stage's command line as its Nx `pipeline` target runs it, under tsx's loader in one process
 * (`node --import tsx`): a signal to it reaches the stage itself.
 */
function stageCommand(stage) {
  const project = require(path.join(ROOT, 'packages', stage, 'project.json'));
  const [bin, ...args] = project.targets.pipeline.options.command.split(/\s+/);
  if (bin !== 'tsx')
    throw new Error(`${stage}: pipeline command ${project.targets.pipeline.options.command} does not start with tsx`);
  return ['--import', 'tsx', ...args];
}

/** "[ingest merge of 4] done: rows in 3000, rows out 3000, 0.20s" → its parts (pure; null for other lines). */
function doneLine(raw) {
  const m = /\[([\w-]+)(?: ([^\]]+))?\] done: (.+?) in (\d+), (.+?) out (\d+), ([\d.]+)s/.exec(raw.replace(ANSI, ''));
  if (!m) return null;
  return {
    stage: m[1],
    role: m[2] ?? 'whole',
    unitIn: m[3],
    rowsIn: Number(m[4]),
    unitOut: m[5],
    rowsOut: Number(m[6]),
  };
}

/** Run one process of a stage; resolves with its exit code and its summary line, output passed to `out` and `err`. */
function runProcess(stage, args, env, children, out, err) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...stageCommand(stage), ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let done = null;
    let error = null;
    const pump = (stream, out) => {
      let buffer = '';
      stream.on('data', (chunk) => {
        out.write(chunk);
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const l of lines) {
          done = doneLine(l) ?? done;
          const e = /\] error: (.*)$/.exec(l.replace(ANSI, ''));
          if (e) error = e[1];
        }
      });
    };
    pump(child.stdout, out);
    pump(child.stderr, err);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? (signal ? 1 : 0), signal, done, error });
    });
  });
}

/** Shards 0..N-1 of a stage, at most `parallel` at once; none starts after one has failed. Their results by index. */
async function runShards(shards, parallel, run) {
  const runs = [];
  let next = 0;
  const worker = async () => {
    while (next < shards && !runs.some((r) => r && r.code !== 0)) {
      const i = next++;
      runs[i] = await run(['--shard', `${i}/${shards}`]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, shards) }, worker));
  return runs;
}

/**
 * Every stage in order: the sharded ones as `shards` processes (at most `parallel` at once, default all)
 * and a merge, ingest as one process writing the parts with `ingestParts`, the others as one process.
 * Stages' output goes to `out` and `err` (default stdout and stderr). Returns `{ code, stages }` with the facts the closing
 * table shows (tools/run-pipeline.js).
 */
async function runSharded({
  shards,
  env,
  stages,
  parallel = shards,
  ingestParts = false,
  out = process.stdout,
  err = process.stderr,
}) {
  const children = new Set();
  const forward = (signal) => {
    for (const c of children) c.kill(signal);
  };
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const run = (stage, args) => runProcess(stage, args, env, children, out, err);
  const facts = new Map();
  try {
    for (const stage of stages) {
      const t0 = Date.now();
      const parts = shards > 1 && ingestParts && stage === 'ingest';
      const sharded = shards > 1 && !parts && SHARDED_STAGES.includes(stage);
      const cache = parts ? `${shards} parts, one parse` : sharded ? `${shards} shards` : 'one process';
      let last;
      if (sharded) {
        const runs = await runShards(shards, parallel, (args) => run(stage, args));
        const failed = runs.findIndex((r) => r && r.code !== 0);
        if (failed >= 0) {
          const r = runs[failed];
          facts.set(stage, {
            stage,
            status: 'failed',
            error: `shard ${failed}/${shards}: ${r.error ?? `exit ${r.signal ?? r.code}`}`,
            cache,
          });
          return { code: 1, stages: facts };
        }
        last = await run(stage, ['--merge', '--shards', String(shards)]);
      } else {
        last = await run(stage, parts ? ['--parts', String(shards)] : []);
      }
      if (last.code !== 0) {
        facts.set(stage, {
          stage,
          status: 'failed',
          error: `${sharded ? 'merge: ' : ''}${last.error ?? `exit ${last.signal ?? last.code}`}`,
          cache,
        });
        return { code: 1, stages: facts };
      }
      facts.set(stage, { stage, status: 'ok', ...(last.done ?? {}), stage, seconds: (Date.now() - t0) / 1000, cache });
    }
    return { code: 0, stages: facts };
  } finally {
    process.off('SIGINT', forward).off('SIGTERM', forward);
  }
}

module.exports = { runSharded, doneLine, SHARDED_STAGES };
