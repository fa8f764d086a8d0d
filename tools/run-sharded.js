// The pipeline as a cluster runs it (`npm run pipeline -- --shards N`, docker/k8s/sharded): each stage
// that splits by customer runs as N processes at once (`--shard i/N`, what the pods of an Indexed Job
// are), then its merge (`--merge`, the merge Job); the other stages run as one process. Stages run in
// order and the first failure stops the run. No Nx cache: every stage runs.
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

/** Run one process of a stage; resolves with its exit code and its summary line, output passed through. */
function runProcess(stage, args, env, children) {
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
    pump(child.stdout, process.stdout);
    pump(child.stderr, process.stderr);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code: code ?? (signal ? 1 : 0), signal, done, error });
    });
  });
}

/**
 * Every stage in order: the sharded ones as `shards` processes and a merge, the others as one.
 * Returns `{ code, stages }` with the facts the closing table shows (tools/run-pipeline.js).
 */
async function runSharded({ shards, env, stages }) {
  const children = new Set();
  const forward = (signal) => {
    for (const c of children) c.kill(signal);
  };
  process.on('SIGINT', forward).on('SIGTERM', forward);
  const facts = new Map();
  try {
    for (const stage of stages) {
      const t0 = Date.now();
      const sharded = shards > 1 && SHARDED_STAGES.includes(stage);
      let last;
      if (sharded) {
        const runs = await Promise.all(
          Array.from({ length: shards }, (_, i) => runProcess(stage, ['--shard', `${i}/${shards}`], env, children)),
        );
        const failed = runs.findIndex((r) => r.code !== 0);
        if (failed >= 0) {
          const r = runs[failed];
          facts.set(stage, {
            stage,
            status: 'failed',
            error: `shard ${failed}/${shards}: ${r.error ?? `exit ${r.signal ?? r.code}`}`,
            cache: `${shards} shards`,
          });
          return { code: 1, stages: facts };
        }
        last = await runProcess(stage, ['--merge', '--shards', String(shards)], env, children);
      } else {
        last = await runProcess(stage, [], env, children);
      }
      const cache = sharded ? `${shards} shards` : 'one process';
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
