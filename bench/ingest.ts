/**
 * Ingest benchmark: generate N rows of MiBolsillo CSV, time the ingest CLI on it (rows/s, peak RSS,
 * from the run record runCli writes), and DuckDB's CSV → date-partitioned Parquet on the same file as
 * the reference. Each measured step runs in its own process so peak RSS is its own.
 *
 *   npx tsx bench/ingest.ts [--rows 1000000,10000000] [--out docs/bench-ingest.md]
 *
 * `--rows` takes a comma-separated list of sizes, run one after the other (default: 1M and 10M); each size
 * replaces its own section of the Markdown file, and the notes after the `<!-- notes -->` line are kept.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(__dirname, '..');
const TSX = require.resolve('tsx/cli', { paths: [ROOT] });

interface Step {
  seconds: number;
  cpuSeconds: number;
  peakRssMb: number;
}

async function generateStep(rows: number, file: string): Promise<void> {
  const { generateChunks } = await import('@bolsillo/core');
  const fd = fs.openSync(file, 'w');
  for (const chunk of generateChunks({ rows, seed: 7 })) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
}

async function duckdbStep(file: string, outDir: string): Promise<void> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:', { threads: String(os.cpus().length) });
  const con = await db.connect();
  // The same work as ingest minus pseudonymisation/validation: decode, trim, parse amounts and dates, partition.
  await con.run(`
    COPY (
      SELECT md5(id || safra_abertura || cidade || estado || idade || sexo) AS customer_key,
             safra_abertura AS account_cohort, trim(cidade) AS city, trim(estado) AS state,
             idade::INTEGER AS age, sexo AS sex, limite_total::INTEGER AS credit_limit, limite_disp::INTEGER AS available_limit,
             strftime(strptime(data, '%d.%m.%Y'), '%Y-%m-%d') AS date,
             CASE WHEN trim(valor) = '-' THEN NULL ELSE replace(replace(trim(valor), '.', ''), ',', '.')::DOUBLE END AS amount,
             grupo_estabelecimento AS merchant_group,
             nullif(trim(cidade_estabelecimento), '') AS merchant_city, nullif(trim(pais_estabelecimento), '') AS merchant_country
      FROM read_csv('${file}', delim = ';', header = true, all_varchar = true)
    ) TO '${outDir}' (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (date), OVERWRITE_OR_IGNORE)`);
  con.closeSync();
  db.closeSync();
}

function child(args: string[], env: NodeJS.ProcessEnv = {}): Step {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [TSX, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
  let seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed:\n${r.stderr.toString()}`);
  const m = /peak_rss_mb=(\d+(\.\d+)?)/.exec(r.stdout.toString());
  const own = /seconds=(\d+(\.\d+)?)/.exec(r.stdout.toString());
  if (own) seconds = Number(own[1]); // the step's own time, without process start
  const cpu = /cpu_seconds=(\d+(\.\d+)?)/.exec(r.stdout.toString());
  return { seconds, cpuSeconds: cpu ? Number(cpu[1]) : Number.NaN, peakRssMb: m ? Number(m[1]) : Number.NaN };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '1000000,10000000' },
      out: { type: 'string', default: path.join(ROOT, 'docs', 'bench-ingest.md') },
      step: { type: 'string' },
      file: { type: 'string' },
      dir: { type: 'string' },
    },
  });
  if (values.step) {
    const rows = Number(values.rows);
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    if (values.step === 'generate') await generateStep(rows, values.file!);
    else if (values.step === 'duckdb') await duckdbStep(values.file!, values.dir!);
    const cpu = process.cpuUsage(c0);
    process.stdout.write(
      `seconds=${((performance.now() - t0) / 1000).toFixed(3)} cpu_seconds=${((cpu.user + cpu.system) / 1e6).toFixed(3)} peak_rss_mb=${(process.resourceUsage().maxRSS / 1024).toFixed(0)}\n`,
    );
    return;
  }
  for (const rows of values.rows!.split(',').map((r) => Number(r.trim()))) {
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows: "${values.rows}" is not a list of row counts`);
    await benchSize(rows, values.out!);
  }
}

async function benchSize(rows: number, out: string): Promise<void> {
  const loadStart = os.loadavg()[0]!.toFixed(1);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ingest-'));
  const raw = path.join(work, 'raw');
  fs.mkdirSync(raw);
  const csv = path.join(raw, 'bench.csv');
  const self = path.relative(ROOT, __filename);
  console.error(`[bench] generating ${rows} rows`);
  const gen = child([self, '--step', 'generate', '--rows', String(rows), '--file', csv]);
  const bytes = fs.statSync(csv).size;
  console.error(`[bench] ingest`);
  const data = path.join(work, 'data');
  const ing = child([path.join('packages', 'ingest', 'src', 'cli.ts')], {
    RAW_DIR: raw,
    DATA_DIR: data,
    BOLSILLO_PSEUDONYM_SECRET: 'bench-secret',
  });
  const run = JSON.parse(
    fs
      .readFileSync(path.join(data, 'monitoring', 'runs.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .pop()!,
  ) as {
    wall_seconds: number;
    cpu_seconds: number;
    peak_rss_mb: number;
    rows_out: number;
    summary: { partitions_total: number };
  };
  const lakeBytes = dirBytes(path.join(data, 'lake', 'transactions'));
  console.error(`[bench] duckdb`);
  const duckDir = path.join(work, 'duck');
  // DuckDB refuses the 0x82 byte (not UTF-8, and rejected as latin-1): give it a UTF-8 copy, made outside the timing.
  const utf8Csv = path.join(work, 'bench-utf8.csv');
  const inp = fs.openSync(csv, 'r');
  const outFd = fs.openSync(utf8Csv, 'w');
  const buf = Buffer.alloc(8 << 20);
  for (let n = fs.readSync(inp, buf); n > 0; n = fs.readSync(inp, buf))
    fs.writeSync(outFd, Buffer.from(buf.toString('latin1', 0, n).replace(/\x82/g, 'Ç'), 'utf8'));
  fs.closeSync(inp);
  fs.closeSync(outFd);
  const duck = child([self, '--step', 'duckdb', '--file', utf8Csv, '--dir', duckDir]);
  const duckBytes = dirBytes(duckDir);

  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const load = os.loadavg()[0]!.toFixed(1);
  const ingestRate = run.rows_out / run.wall_seconds;
  const duckRate = rows / duck.seconds;
  const md = [
    `### ${fmt(rows)} rows`,
    '',
    `Measured by \`npx tsx bench/ingest.ts --rows ${rows}\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'cpu'}), ` +
      `Node ${process.version}, load average ${loadStart} at the start and ${load} at the end (1-minute${Math.max(Number(loadStart), Number(load)) > os.cpus().length ? '; the machine was shared with other jobs, so absolute numbers are pessimistic' : ''}).`,
    `Input: ${fmt(rows)} generated rows (seed 7), ${(bytes / 1e6).toFixed(1)} MB of MiBolsillo CSV (DuckDB reads a UTF-8 copy: it rejects the 0x82 byte).`,
    '',
    '| step | wall s | rows/s | peak RSS MB | output |',
    '|---|---:|---:|---:|---|',
    `| generate (\`generateChunks\`) | ${gen.seconds.toFixed(1)} | ${fmt(rows / gen.seconds)} | ${fmt(gen.peakRssMb)} | CSV |`,
    `| ingest CLI (parse, validate, HMAC, ${run.summary.partitions_total} partitions) | ${run.wall_seconds.toFixed(1)} | ${fmt(ingestRate)} | ${fmt(run.peak_rss_mb)} | ${(lakeBytes / 1e6).toFixed(1)} MB Parquet (CPU ${run.cpu_seconds.toFixed(1)} s) |`,
    `| ingest process incl. tsx start | ${ing.seconds.toFixed(1)} | ${fmt(rows / ing.seconds)} | | |`,
    `| DuckDB CSV → partitioned Parquet (reference) | ${duck.seconds.toFixed(1)} | ${fmt(duckRate)} | ${fmt(duck.peakRssMb)} | ${(duckBytes / 1e6).toFixed(1)} MB Parquet (CPU ${duck.cpuSeconds.toFixed(1)} s) |`,
    '',
    `Ingest reaches ${((100 * ingestRate) / duckRate).toFixed(0)}% of DuckDB's rows/s (${(ingestRate / duckRate).toFixed(2)}×); ` +
      `CPU seconds per row, ingest / DuckDB: ${(run.cpu_seconds / run.rows_out / (duck.cpuSeconds / rows)).toFixed(2)}.`,
    '',
  ].join('\n');
  // One section per input size: a run replaces its own size's section and keeps the others, and the notes.
  const MARK = '<!-- notes -->';
  const [previous = '', notes = ''] = (fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '').split(`${MARK}\n`);
  const sections = new Map<string, string>();
  for (const part of previous.split(/^(?=### )/m).filter((p) => p.startsWith('### ')))
    sections.set(part.split('\n', 1)[0]!, part.trimEnd() + '\n\n');
  sections.set(`### ${fmt(rows)} rows`, md);
  const head =
    previous.includes('\n### ') || previous.startsWith('### ') ? previous.split(/^### /m)[0]! : '## Ingest\n\n';
  const ordered = [...sections.entries()]
    .sort(([a], [b]) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')))
    .map(([, v]) => v);
  const doc = head + ordered.join('') + (notes ? `${MARK}\n${notes}` : '');
  fs.writeFileSync(out, doc);
  process.stdout.write(md);
  fs.rmSync(work, { recursive: true, force: true });
}

function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .reduce(
      (s, e) => s + (e.isDirectory() ? dirBytes(path.join(dir, e.name)) : fs.statSync(path.join(dir, e.name)).size),
      0,
    );
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
