/**
 * Storage benchmark: the bytes of the lake (ingest), the feature store (features) and, with `--master`,
 * the master table (build), beside DuckDB's Parquet of the very same rows, written by DuckDB from our
 * files (`COPY … TO … (FORMAT parquet)`, Hive-partitioned by date like ours, the date column kept in
 * the files as ours keep it): once with DuckDB's defaults (Snappy, dictionary encoding) and once with
 * ZSTD, to show the range. Also the stages' write time (their run records), our reader's time over
 * every file (parquet-wasm, what the stages read with), DuckDB's full scan of ours beside its scan of
 * its own, and a parquetjs-lite check (it reads the first, middle and last partition in full).
 *
 *   npx tsx bench/storage.ts [--rows 1000000] [--raw-dir /work/big/raw] [--work <dir>] [--master]
 *                            [--label after] [--keep] [--out docs/bench-storage.md]
 *
 * Input: `<raw-dir>/<rows>/generated.csv` (generated when missing, seed 11). Each `--label` replaces
 * its own section of the Markdown file (e.g. "before" and "after" a change); the notes after the
 * `<!-- notes -->` line are kept.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import {
  PARQUET_COMPRESSIONS,
  dataLayout,
  listPartitions,
  parquetToTable,
  readJsonl,
  readParquetFile,
  tableToCompatibleParquet,
  type ParquetCompression,
} from '@bolsillo/core';
import type { StageRun } from '@bolsillo/schema';

const ROOT = path.resolve(__dirname, '..');
const TSX = require.resolve('tsx/cli', { paths: [ROOT] });

// parquetjs-lite has no type declarations; the reader API used here is tiny.
const parquetjs = require('parquetjs-lite') as {
  ParquetReader: {
    openFile(
      file: string,
    ): Promise<{ getCursor(): { next(): Promise<Record<string, unknown> | null> }; close(): Promise<void> }>;
  };
};

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '1000000' },
    'raw-dir': { type: 'string', default: '/work/big/raw' },
    work: { type: 'string' },
    master: { type: 'boolean', default: false },
    label: { type: 'string', default: 'current' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'docs', 'bench-storage.md') },
  },
});

interface Dataset {
  readonly name: string;
  /** Our files: a folder of `date=*` partitions, or one file. */
  readonly ours: string;
  readonly partitioned: boolean;
  readonly run?: StageRun;
}

interface Measured {
  readonly dataset: Dataset;
  readonly rows: number;
  readonly files: number;
  readonly bytes: number;
  readonly duckSnappy: number;
  readonly duckZstd: number;
  readonly readWall: number;
  readonly readCpu: number;
  readonly scanOurs: number;
  readonly scanDuck: number;
  readonly codecs: string;
  readonly encodings: string;
  readonly columns: { name: string; ours: number; duck: number }[];
  readonly parquetjs: string;
  readonly settings: { compression: ParquetCompression; bytes: number; encodeCpu: number; decodeCpu: number }[];
}

function stage(name: string, env: NodeJS.ProcessEnv, dataDir: string): StageRun {
  console.error(`[bench] ${name}`);
  const r = spawnSync(process.execPath, [TSX, path.join('packages', name, 'src', 'cli.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${name} exited with ${r.status}`);
  const run = readJsonl<StageRun>(dataLayout(dataDir).stageRuns)
    .filter((x) => x.stage === name && x.status === 'ok')
    .at(-1);
  if (!run) throw new Error(`${name}: no run record`);
  return run;
}

function parquetFiles(target: string): string[] {
  if (!fs.statSync(target).isDirectory()) return [target];
  return fs
    .readdirSync(target, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory()
        ? parquetFiles(path.join(target, e.name))
        : e.name.endsWith('.parquet')
          ? [path.join(target, e.name)]
          : [],
    )
    .sort();
}

const bytesOf = (target: string) => parquetFiles(target).reduce((s, f) => s + fs.statSync(f).size, 0);
const glob = (d: Dataset, dir = d.ours) => (d.partitioned ? path.join(dir, 'date=*', '*.parquet') : dir);

async function rowsOf(con: DuckDBConnection, sql: string): Promise<Record<string, unknown>[]> {
  return (await con.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

async function parquetjsCheck(d: Dataset): Promise<string> {
  const files = parquetFiles(d.ours);
  const picked = [...new Set([files[0]!, files[Math.floor(files.length / 2)]!, files.at(-1)!])];
  let rows = 0;
  for (const file of picked) {
    const reader = await parquetjs.ParquetReader.openFile(file);
    const cursor = reader.getCursor();
    let n = 0;
    for (let row = await cursor.next(); row; row = await cursor.next()) n += 1;
    await reader.close();
    const expected = readParquetFile(file).numRows;
    if (n !== expected) return `**no**: ${path.basename(path.dirname(file))} gave ${n} rows of ${expected}`;
    rows += n;
  }
  return `yes (${picked.length} files, ${rows.toLocaleString('en-US')} rows)`;
}

async function measure(con: DuckDBConnection, d: Dataset, work: string): Promise<Measured> {
  console.error(`[bench] measuring ${d.name}`);
  const files = parquetFiles(d.ours);
  // Our reader over every file, as the next stage reads them.
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  let rows = 0;
  for (const f of files) rows += readParquetFile(f).numRows;
  const readWall = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const readCpu = (cpu.user + cpu.system) / 1e6;
  // Every codec setting on the same tables, in this process: bytes, encode and decode CPU seconds.
  const settings: Measured['settings'] = [];
  if (d.partitioned) {
    const tables = files.map((f) => readParquetFile(f));
    for (const compression of PARQUET_COMPRESSIONS) {
      let bytes = 0;
      let encodeCpu = 0;
      let decodeCpu = 0;
      for (const t of tables) {
        const e0 = process.cpuUsage();
        const encoded = tableToCompatibleParquet(t, { compression });
        const e = process.cpuUsage(e0);
        const d0 = process.cpuUsage();
        parquetToTable(encoded);
        const dc = process.cpuUsage(d0);
        bytes += encoded.length;
        encodeCpu += (e.user + e.system) / 1e6;
        decodeCpu += (dc.user + dc.system) / 1e6;
      }
      settings.push({ compression, bytes, encodeCpu, decodeCpu });
    }
  }

  const source = `read_parquet('${glob(d)}', hive_partitioning = false)`;
  const duckDir = (codec: string) => path.join(work, `duckdb-${d.name}-${codec}`);
  const partition = d.partitioned ? ', PARTITION_BY (date), WRITE_PARTITION_COLUMNS true' : '';
  for (const codec of ['default', 'zstd']) {
    const dir = duckDir(codec);
    fs.rmSync(dir, { recursive: true, force: true });
    const target = d.partitioned ? dir : path.join(dir, 'data.parquet');
    fs.mkdirSync(dir, { recursive: true });
    await con.run(
      `COPY (SELECT * FROM ${source}) TO '${target}' (FORMAT parquet${codec === 'zstd' ? ', COMPRESSION zstd' : ''}${partition})`,
    );
  }
  const duckGlob = d.partitioned ? path.join(duckDir('default'), 'date=*', '*.parquet') : duckDir('default');
  const [count] = await rowsOf(con, `SELECT count(*)::BIGINT AS n FROM read_parquet('${duckGlob}')`);
  if (Number(count!.n) !== rows) throw new Error(`${d.name}: DuckDB copied ${String(count!.n)} rows of ${rows}`);
  // A full scan that decodes every column.
  const scan = (g: string) => con.run(`SELECT max(COLUMNS(*)) FROM read_parquet('${g}', hive_partitioning = false)`);
  await scan(glob(d)); // warm the page cache for both
  await scan(duckGlob);
  const scanOurs = await timed(() => scan(glob(d)));
  const scanDuck = await timed(() => scan(duckGlob));
  const meta = (g: string) =>
    `SELECT path_in_schema AS name, sum(total_compressed_size)::BIGINT AS bytes FROM parquet_metadata('${g}') GROUP BY 1`;
  const duckBytes = new Map((await rowsOf(con, meta(duckGlob))).map((r) => [String(r.name), Number(r.bytes)]));
  const columns = (await rowsOf(con, meta(glob(d))))
    .map((r) => ({ name: String(r.name), ours: Number(r.bytes), duck: duckBytes.get(String(r.name)) ?? 0 }))
    .sort((a, b) => b.ours - a.ours);
  const [props] = await rowsOf(
    con,
    `SELECT string_agg(DISTINCT compression::VARCHAR, ', ' ORDER BY compression::VARCHAR) AS codecs,
            string_agg(DISTINCT encodings::VARCHAR, ' | ' ORDER BY encodings::VARCHAR) AS encodings
     FROM parquet_metadata('${glob(d)}')`,
  );
  return {
    dataset: d,
    rows,
    files: files.length,
    bytes: bytesOf(d.ours),
    duckSnappy: bytesOf(duckDir('default')),
    duckZstd: bytesOf(duckDir('zstd')),
    readWall,
    readCpu,
    scanOurs,
    scanDuck,
    codecs: String(props!.codecs),
    encodings: String(props!.encodings),
    columns,
    parquetjs: await parquetjsCheck(d),
    settings,
  };
}

function report(rows: number, csv: string, measured: Measured[], load: string): string {
  const mb = (b: number) => (b / 1e6).toFixed(1);
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const lines = [
    `### ${values.label}: ${fmt(rows)} generated rows`,
    '',
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npx tsx bench/storage.ts --rows ${rows} --label ${values.label}${values.master ? ' --master' : ''}\` ` +
      `on ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; input ${path.basename(path.dirname(csv))}/generated.csv ` +
      `(${mb(fs.statSync(csv).size)} MB, seed 11); load average (1 min) ${load}.`,
    '',
    '| dataset | rows | files | ours MB | DuckDB default MB | ours / DuckDB | DuckDB ZSTD MB | ours / DuckDB ZSTD | our codecs | our encodings |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |',
    ...measured.map(
      (m) =>
        `| ${m.dataset.name} | ${fmt(m.rows)} | ${fmt(m.files)} | ${mb(m.bytes)} | ${mb(m.duckSnappy)} | **${(m.bytes / m.duckSnappy).toFixed(2)}×** | ${mb(m.duckZstd)} | ${(m.bytes / m.duckZstd).toFixed(2)}× | ${m.codecs} | ${m.encodings} |`,
    ),
    '',
    '| dataset | written by | stage wall s | stage CPU s | stage rows/s | our reader, all files: wall s / CPU s | DuckDB full scan: ours / its own s | parquetjs-lite reads |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...measured.map((m) => {
      const r = m.dataset.run;
      return `| ${m.dataset.name} | ${r ? r.stage : ''} | ${r ? r.wall_seconds.toFixed(1) : ''} | ${r ? r.cpu_seconds.toFixed(1) : ''} | ${r ? fmt(r.rows_in / r.wall_seconds) : ''} | ${m.readWall.toFixed(2)} / ${m.readCpu.toFixed(2)} | ${m.scanOurs.toFixed(2)} / ${m.scanDuck.toFixed(2)} | ${m.parquetjs} |`;
    }),
    '',
    'Each codec setting (core `PARQUET_COMPRESSIONS`) on the same partitions, re-encoded in the bench process with core `tableToCompatibleParquet` (CPU seconds over all partitions; the ratio is to DuckDB default):',
    '',
    '| dataset | setting | MB | / DuckDB | encode CPU s | decode CPU s |',
    '| --- | --- | ---: | ---: | ---: | ---: |',
    ...measured.flatMap((m) =>
      m.settings.map(
        (s) =>
          `| ${m.dataset.name} | ${s.compression} | ${mb(s.bytes)} | ${(s.bytes / m.duckSnappy).toFixed(2)}× | ${s.encodeCpu.toFixed(2)} | ${s.decodeCpu.toFixed(2)} |`,
      ),
    ),
    '',
    'Largest columns (compressed MB, ours / DuckDB default):',
    '',
    ...measured.map(
      (m) =>
        `- ${m.dataset.name}: ` +
        m.columns
          .slice(0, 8)
          .map((c) => `${c.name} ${mb(c.ours)} / ${mb(c.duck)}`)
          .join(', '),
    ),
    '',
  ];
  return lines.join('\n');
}

function writeSection(out: string, label: string, md: string): void {
  const MARK = '<!-- notes -->';
  const [previous = '', notes = ''] = (fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '').split(`${MARK}\n`);
  const sections = new Map<string, string>();
  for (const part of previous.split(/^(?=### )/m).filter((p) => p.startsWith('### ')))
    sections.set(part.split(':', 1)[0]!, part.trimEnd() + '\n\n');
  sections.set(`### ${label}`, md.trimEnd() + '\n\n');
  const head =
    previous.includes('\n### ') || previous.startsWith('### ')
      ? previous.split(/^### /m)[0]!
      : '## Storage\n\nBytes of the Parquet the pipeline writes, beside DuckDB\u2019s Parquet of the same rows.\n\n';
  fs.writeFileSync(out, head + [...sections.values()].join('') + (notes ? `${MARK}\n${notes}` : ''));
}

async function main(): Promise<void> {
  const rows = Number(values.rows);
  if (!Number.isInteger(rows) || rows < 1) throw new Error(`--rows: "${values.rows}" is not a row count`);
  const rawDir = path.join(path.resolve(values['raw-dir']!), String(rows));
  const csv = path.join(rawDir, 'generated.csv');
  if (!fs.existsSync(csv)) {
    fs.mkdirSync(rawDir, { recursive: true });
    const r = spawnSync(
      process.execPath,
      [TSX, 'packages/ingest/src/generate-cli.ts', '--rows', String(rows), '--seed', '11', '--out', csv],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (r.status !== 0) throw new Error('generate failed');
  }
  const work = values.work ? path.resolve(values.work) : fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  const dataDir = path.join(work, 'data');
  fs.rmSync(dataDir, { recursive: true, force: true });
  const env = { RAW_DIR: rawDir, DATA_DIR: dataDir, BOLSILLO_PSEUDONYM_SECRET: 'bench-secret' };
  const loadStart = os.loadavg()[0]!.toFixed(1);
  const layout = dataLayout(dataDir);
  const datasets: Dataset[] = [
    { name: 'lake', ours: layout.lake, partitioned: true, run: stage('ingest', env, dataDir) },
    { name: 'feature store', ours: layout.featureStore, partitioned: true, run: stage('features', env, dataDir) },
  ];
  if (listPartitions(layout.lake).length === 0) throw new Error('ingest wrote no partitions');
  if (values.master) {
    const run = stage('build', env, dataDir);
    const masters = fs
      .readdirSync(path.join(dataDir, 'master'), { withFileTypes: true })
      .filter((e) => e.isDirectory() && fs.existsSync(path.join(dataDir, 'master', e.name, 'master.parquet')));
    if (masters.length !== 1) throw new Error(`expected one master table, found ${masters.length}`);
    datasets.push({
      name: 'master table',
      ours: path.join(dataDir, 'master', masters[0]!.name, 'master.parquet'),
      partitioned: false,
      run,
    });
  }
  const db = await DuckDBInstance.create(':memory:', { threads: String(os.cpus().length) });
  const con = await db.connect();
  const measured: Measured[] = [];
  for (const d of datasets) measured.push(await measure(con, d, work));
  con.closeSync();
  db.closeSync();
  const md = report(rows, csv, measured, `${loadStart} → ${os.loadavg()[0]!.toFixed(1)}`);
  writeSection(path.resolve(values.out!), values.label!, md);
  process.stdout.write(md);
  if (!values.keep) fs.rmSync(work, { recursive: true, force: true });
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exitCode = 1;
});
