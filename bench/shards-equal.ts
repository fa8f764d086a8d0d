/**
 * Issue 20's must-show: N shards + merge give the same data as one process. Runs ingest, features and
 * build (and, with --through evaluate, train once and evaluate) on one raw CSV twice, into two data
 * folders: one process per stage, then each sharded stage as N processes at once and its merge
 * (tools/run-sharded.js, what the Indexed Jobs and merge Jobs do). Compares the lake, feature store
 * and master table as multisets of rows, the online store byte for byte, and the build reports and
 * evaluation metrics as JSON without timestamps (tools/shard-compare.ts), and writes the result into
 * its section of docs/bench-shards.md. Exit code 1 when anything differs.
 *
 * Usage: npx tsx bench/shards-equal.ts --raw <file.csv> --label <name> [--shards 4]
 *          [--through build|evaluate] [--work /work/big/shards-equal/<name>] [--keep]
 * The work folder holds data derived from the raw file: keep it outside the repository.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compareDataDirs, type Check, type Through } from '../tools/shard-compare';

const { runSharded } = require('../tools/run-sharded') as {
  runSharded: (o: { shards: number; env: NodeJS.ProcessEnv; stages: string[] }) => Promise<{
    code: number;
    stages: Map<string, { status: string; rowsIn?: number; rowsOut?: number; error?: string }>;
  }>;
};

const ROOT = path.resolve(__dirname, '..');
const DOC = path.join(ROOT, 'docs', 'bench-shards.md');

const { values } = parseArgs({
  options: {
    raw: { type: 'string' },
    label: { type: 'string' },
    shards: { type: 'string', default: '4' },
    through: { type: 'string', default: 'build' },
    work: { type: 'string' },
    keep: { type: 'boolean', default: false },
    describe: { type: 'string', default: '' },
    'compare-only': { type: 'boolean', default: false },
  },
});

async function main(): Promise<number> {
  if (!values.label || (!values.raw && !values['compare-only']))
    throw new Error('--raw <file.csv> and --label <name> are required');
  const shards = Number(values.shards);
  if (!Number.isInteger(shards) || shards < 2) throw new Error('--shards must be 2 or more');
  const through = values.through as Through;
  if (!['build', 'evaluate'].includes(through)) throw new Error('--through is build or evaluate');
  const slug = values.label.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  const work = path.resolve(values.work ?? path.join(os.tmpdir(), `shards-equal-${slug}`));
  const one = path.join(work, 'one');
  const many = path.join(work, `${shards}`);
  const rowsIn = values['compare-only'] ? readRowsIn(one) : await runBoth(work, one, many, shards, through);
  const checks = await compareDataDirs(one, many, through);
  const ok = checks.every((c) => c.equal);
  const lines = [
    `<!-- section: ${slug} -->`,
    `## ${values.label}`,
    '',
    `${values.describe ? `${values.describe} ` : ''}Raw rows in: ${rowsIn}; ` +
      `${shards} shards + merge against one process, stages ingest to ${through}; run ${new Date().toISOString().slice(0, 10)}.`,
    `Result: **${ok ? 'equal' : 'DIFFERENT'}** (${checks.filter((c) => c.equal).length} of ${checks.length} checks equal).`,
    '',
    '| What | Equal | Detail |',
    '| ---- | ----- | ------ |',
    ...checks.map((c: Check) => `| ${c.what} | ${c.equal ? 'yes' : '**no**'} | ${c.detail.replace(/\|/g, '\\|')} |`),
    `<!-- end: ${slug} -->`,
  ];
  writeSection(slug, lines.join('\n'));
  console.log(lines.join('\n'));
  if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
  return ok ? 0 : 1;
}

/** Both runs into fresh folders; returns the raw rows ingest read. */
async function runBoth(work: string, one: string, many: string, shards: number, through: Through): Promise<number> {
  fs.rmSync(work, { recursive: true, force: true });
  const raw = path.join(work, 'raw');
  fs.mkdirSync(raw, { recursive: true });
  const csv = path.join(raw, path.basename(values.raw!));
  try {
    fs.linkSync(path.resolve(values.raw!), csv);
  } catch {
    fs.copyFileSync(path.resolve(values.raw!), csv);
  }
  const env = (dataDir: string): NodeJS.ProcessEnv => ({ ...process.env, RAW_DIR: raw, DATA_DIR: dataDir });
  const run = async (n: number, dataDir: string, stages: string[]) => {
    const r = await runSharded({ shards: n, env: env(dataDir), stages });
    if (r.code !== 0) {
      const failed = [...r.stages.values()].find((s) => s.status === 'failed');
      throw new Error(`${stages.join(', ')} with ${n} shard(s) failed: ${failed?.error ?? 'exit code'}`);
    }
    return r;
  };

  const data = ['ingest', 'features', 'build'];
  console.error(`[shards-equal] ${values.label}: ${data.join(', ')} in one process`);
  const whole = await run(1, one, data);
  console.error(`[shards-equal] ${values.label}: ${data.join(', ')} in ${shards} shards + merge`);
  await run(shards, many, data);
  if (through === 'evaluate') {
    // One model for both: train reads the master table (its hash is compared below) and is not
    // sharded, so the evaluation compares the scoring in shards, not two trainings.
    console.error(`[shards-equal] ${values.label}: train once, evaluate in one process and in ${shards} shards`);
    await run(1, one, ['train']);
    fs.cpSync(path.join(one, 'registry'), path.join(many, 'registry'), { recursive: true });
    await run(1, one, ['evaluate']);
    await run(shards, many, ['evaluate']);
  }

  return whole.stages.get('ingest')?.rowsIn ?? NaN;
}

/** The raw rows of an earlier run (--compare-only): the valid rows of the lake manifest's files. */
function readRowsIn(dataDir: string): number {
  const m = JSON.parse(fs.readFileSync(path.join(dataDir, 'lake', 'manifest.json'), 'utf8')) as {
    files: Record<string, { rows_in: number }>;
  };
  return Object.values(m.files).reduce((n, f) => n + f.rows_in, 0);
}

/** Replace (or append) this label's section of docs/bench-shards.md, keeping the others. */
function writeSection(slug: string, section: string): void {
  const header = [
    '# Shards equal one process',
    '',
    "Written by `bench/shards-equal.ts` (issue 20's must-show): the same raw file through ingest, features",
    'and build (and, where noted, train once and evaluate) in one process per stage and as N shards at once',
    "plus each stage's merge (`tools/run-sharded.js`, what the Indexed Jobs and merge Jobs of",
    '`docker/k8s/sharded` do), into two data folders. The lake, feature store and master table are',
    "compared as multisets of rows (a SHA-1 of each row's values in column order, counted; part files",
    'and row order may differ), the online store byte for byte, and the build reports and evaluation',
    "metrics as JSON with the run's timestamps, durations, input lists and shard counts left out",
    '(`tools/shard-compare.ts`). No timings: this is about results, not speed.',
    "The lake manifest's per-partition `sha256` and its `content_hash` hash the Parquet bytes, so they",
    'depend on how the rows are split into part files (one `part-0` against four parts) and are left out;',
    'the rows they cover are compared. With `--through evaluate`, train runs once (it is not sharded) and',
    'its registry is copied to the sharded folder, so the evaluation compares scoring in shards + merge',
    'with one process, not two trainings.',
    'Commands: `npx tsx bench/shards-equal.ts --raw ../shared/data/real/MiBolsillo.csv --label "Real file"',
    '--through evaluate`, and the same with `--raw /work/big/raw/1000000/generated.csv --label "1M generated',
    'rows"`. `tools/shards-equal.spec.ts` runs the real-file comparison (ingest to build) as a test.',
    '',
  ].join('\n');
  const text = fs.existsSync(DOC) ? fs.readFileSync(DOC, 'utf8') : header;
  const re = new RegExp(`<!-- section: ${slug} -->[\\s\\S]*?<!-- end: ${slug} -->`);
  const next = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(`${DOC}.tmp`, next);
  fs.renameSync(`${DOC}.tmp`, DOC);
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    console.error(`[shards-equal] error: ${error.message}`);
    process.exitCode = 1;
  },
);
