/**
 * Benchmark of the features stage: generated MiBolsillo-dialect rows → ingest (not timed here) →
 * features (full run, no-op rerun, and an incremental run where the last 7 days changed).
 * Each stage runs as its CLI in its own process; wall time, CPU time and peak RSS come from the
 * record runCli appends to `monitoring/runs.jsonl`.
 *
 *   npx tsx bench/features.ts --rows 1000000 [--seed 11] [--dir /tmp/bench-features] [--out docs/bench-features.md]
 *   npx tsx bench/features.ts --lake /tmp/bench-features-10000000/lake [--no-incremental]
 *
 * `--lake <dir>` reuses an existing lake (read-only: it is symlinked into a fresh work dir, and the
 * feature store, manifest and monitoring records are written there), skipping generate + ingest.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  dataLayout,
  generateChunks,
  listPartitions,
  readJsonl,
  writeFileAtomic,
  writeJsonAtomic,
} from '@bolsillo/core';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
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
    // An existing lake folder (the `lake` of a DATA_DIR) to benchmark on; never written to.
    lake: { type: 'string' },
  },
});
const existingLake = values.lake ? path.resolve(values.lake) : null;
const rows = Number(values.rows);
const dir = path.resolve(
  values.dir ??
    path.join(
      os.tmpdir(),
      existingLake ? `bench-features-on-${path.basename(path.dirname(existingLake))}` : `bench-features-${rows}`,
    ),
);
const raw = path.join(dir, 'raw');
const layout = dataLayout(dir);

function runStage(cli: string, args: string[] = [], dataDir = dir): StageRun {
  const r = spawnSync(TSX, [cli, ...args], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, RAW_DIR: raw },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`${cli} exited with ${r.status}`);
  const runs = readJsonl<StageRun>(path.join(dataLayout(dataDir).monitoring, 'runs.jsonl'));
  return runs[runs.length - 1]!;
}

function ensureLake(): void {
  if (existingLake) {
    if (listPartitions(path.join(existingLake, 'transactions')).length === 0)
      throw new Error(`no lake partitions under ${existingLake}/transactions`);
    // Fresh work dir each time (the store and manifest of a previous bench would make the runs no-ops).
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(existingLake, path.join(dir, 'lake')); // dataLayout: lake = DATA_DIR/lake/transactions
    return;
  }
  const csv = path.join(raw, 'generated.csv');
  const marker = path.join(dir, 'generated.json');
  const want = JSON.stringify({ rows, seed: Number(values.seed) });
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === want && listPartitions(layout.lake).length > 0)
    return;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(raw, { recursive: true });
  const fd = fs.openSync(csv, 'w');
  for (const chunk of generateChunks({ rows, seed: Number(values.seed) })) fs.writeSync(fd, chunk);
  fs.closeSync(fd);
  const ingest = runStage('packages/ingest/src/cli.ts');
  process.stderr.write(`[bench] ingest: ${ingest.rows_out} rows in ${ingest.wall_seconds.toFixed(1)}s\n`);
  fs.writeFileSync(marker, want);
}

/** Fixed notes on where the stage's CPU goes (measured by hand; the table above is what this run measured). */
const NOTES = `### Where the CPU goes

Main thread: only the kernel now: history order (a one-pass check: lake partitions arrive sorted), each
customer's history, \`computeBatchInto\` (features + fold). Two Parquet threads (\`FeatureWriterPool\`, thread module
\`parquet-thread.ts\`) take whole partitions round-robin:
- read: parquet-wasm decode of the lake partition, then the kernel's columns built from the Arrow buffers on
  that thread: string columns interned into per-partition dictionaries + Int32 codes straight from the UTF-8
  bytes (open-addressing table, byte comparison on every hit; one JS string per distinct value, none per row),
  number columns copied, key columns kept as raw UTF-8. All typed arrays are transferred, not copied.
  customer_key ids are the thread's own for its whole life, so only customers new to the thread travel and the
  main thread maps each customer to its history once per thread (not once per partition).
- write: the kernel's sink (one typed array per feature; the three category features as codes into the
  batch's small dictionary) and the key columns go to a thread, which builds the feature-row Arrow table
  (UTF-8 of categories copied from the dictionary's bytes, key columns gathered in history order, or one block
  views when the order is the identity), encodes it and writes it atomically. The sink's arrays come back and
  are reused for a later partition; the partition's other columns join that thread's buffer pool, from which
  the next decoded partitions' columns are cut (the lake file is also read into one reused buffer per thread).

At most 3 partitions are decoded ahead and 3 writes in flight (memory stays flat).

Round 1 (same-run comparisons on the shared machine, 1-minute load 4–6; CPU s by thread
read from \`/proc/<pid>/task/*/stat\`; the old code was run from a copy of the previous sources):

| 10M rows, full recompute (snappy) | Process CPU s | Main thread | Parquet threads | Other threads (V8 GC, compilers) | Wall s | Peak RSS MB |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
| before (interning, output table and its IPC on the main thread) | 122.7 | 65.7 | 15.5 + 15.4 | 26.0 | 117.8 | 799 |
| after | 95.4 | 29.9 | 23.6 + 23.3 | 18.2 | 90.1 | 750 |

Steps, in the order they were made (each checked byte for byte against the store of the previous code, below):
1. Interning and the output table moved to the Parquet threads (\`readColumns\` / \`writeFeatures\`); the main
   thread no longer builds an Arrow table or an IPC stream. At 10M: main 65.7 → ~39 CPU s.
2. customer_key interned once per thread (stable ids) instead of once per partition; the main thread's
   \`states.get(key)\` per customer per partition (hashing fresh 64-character strings) went with it.
3. Faster interner in the threads (open addressing in an Int32Array, slot = hash, id, start, end).
4. Kernel (\`packages/core/src/feature-kernel/kernel.ts\`): no double argument on a per-row call any more (the
   amount and ratio travel in a Float64Array, the sink writes one scratch row and flushes it in a loop, the ring
   push is inlined in the fold); the validity bytes of a batch are preset to 1 so only nulls write one; the group
   and date strings a history keeps are long-lived instances, so old histories do not point at each partition's
   fresh strings (main-thread scavenges at 10M: 125 taking 6.1 s of pauses → 103 taking 2.7 s, measured with --trace-gc).
5. Garbage: the sink's arrays are recycled (transferred back after the write) and the rest of a partition's
   columns are dropped on the Parquet thread, so the main thread allocates little external memory.
6. Output build in the threads: identity order gathered as one block copy, validity bitmaps skipped for
   features without nulls, Int32 columns converted natively.

Round 2 (buffer reuse in the Parquet threads): the input columns of a partition (interned ids, numbers, key
bytes, order) used to be fresh zeroed ArrayBuffers on every partition, plus a fresh buffer for each lake file
read and two copies of the key columns per write. Now the lake file is read into one grow-only buffer per thread,
the key columns are written from views, and the arrays that come back with \`writeFeatures\` are pooled (at most
64 MB per thread) and reused by the next \`readColumns\`. Same outputs (10M store and online store hashed: equal).
Same session, back to back, 10M rows, full recompute, CPU s:

| 10M rows (snappy) | Process CPU s | Main thread | Parquet threads | Other threads (V8 GC, compilers) |
| --- | ---: | ---: | ---: | ---: |
| before (round 1 code), two runs | 90.9 / 97.4 | 28.7 / 32.4 | 21.8 + 22.0 / 23.7 + 23.8 | 19.5 / 18.6 |
| after, three runs | 81.7 / 83.2 / 84.1 | 26.9 / 28.4 / 28.2 | 20.0 + 21.0 / 21.2 + 20.8 / 21.0 + 21.2 | 14.7 / 13.8 / 14.8 |

(The last before/after pair ran back to back on a quieter machine: 52.6 → 44.9 s wall, 190k → 223k rows/s;
peak RSS of a run ~840 MB, from ~780: the pools.) The saving is mostly in V8's own
threads: \`perf\` on the helper threads at 10M shows concurrent marking (major GC) as the largest item, then
memmove, then sweeping; the optimizing compiler is ~3% of all samples.

Round 3 (lead, quiet machine): a full recompute no longer reads and hashes all 776 MB of the lake on the main
thread before the run starts (about 2 s of serial time at 10M, with both Parquet threads idle); the threads hash
each file from the bytes they read for the run, and the manifest gets the same hashes (the no-op rerun above finds
the inputs unchanged). An incremental run still hashes first, since its plan depends on the hashes. Together with
rounds 1 and 2 the 10M full recompute went from 126k rows/s (previous quiet-machine run, 79 s) to 205k and 202k
rows/s in two quiet runs of this bench (48.8 and 49.5 s, snappy). The margin over 200k is thin: the uncompressed
runs of the same code measured 198k and 219k, and the whole-pipeline bench's 10M features stage, timed as a
process including start-up, 197k; single runs swing by about ±5%.

Identity: the 1M store (403 partitions) and its online store, and the real file's, have the same sha256 as
with the previous code, file by file; \`parquet-worker.spec.ts\` checks that the threads' columns equal
\`txnColumnsFromTable\`'s and that \`writeFeatures\` writes the same Parquet bytes as the main-thread table path.

Typed thread module: the Parquet threads ran a 394-line plain-JS string (its own interner, table build and
atomic write) until the thread became a TypeScript module (\`parquet-thread.ts\`, started by core's
\`startWorkerModule\`) that shares \`txnColumnsFromTable\` and \`featureTableFromArrays\` with the main thread and
core's atomic write and Parquet encoder. Same bytes: the sample's and the real file's feature stores, online
store and manifest content are identical before and after. Cost: loading core and schema in each thread; on
the real file (4,955 rows) a Parquet thread's CPU went from 1.0 to 1.4 s under tsx (1.0 s from the built
package), nothing measurable at 1M or 10M rows.

Figures that used to sit in code comments: the kernel hands the current row's amount and available ratio to
the sink and the history through a scratch \`Float64Array\` because a call with a double argument that V8 does
not inline boxes it into a new heap number, which per row and per feature was most of the offline run's
garbage (round 1, step 4); and it keeps \`FEATURE_INDEX\` in a module constant because under CommonJS
transpilation (tsx, Jest) every use of an imported binding is a property read.

Remaining: on 2 cores the wall time is bounded by total CPU / 2, so 200k rows/s needs ≤ 10 µs of CPU per row
in total with both cores busy; the run is now at ~8.3 µs/row at 10M in round 2's runs (9.3 in the quiet run above, whose process CPU includes start-up and the online store) (main ~2.8, Parquet threads ~2.1 each, V8's
own threads ~1.4). What is left, by size: parquet-wasm decode + encode, measured alone on 30 partitions of the
10M store in one process: decode 1.35 µs/row, encode 2.5 µs/row with snappy or 1.9 with no compression (store
twice the size), i.e. ~3.9 of the Parquet threads' ~4.2 µs per row they handle, fixed by the library as long as
the bytes must stay the same; the kernel (~2.8 µs/row: the 30-day window is summed per row, oldest first, to
keep the floating-point results identical); V8's garbage collector: V8 counts ArrayBuffer memory allocated
since the last full collection towards the old-generation limit, so every buffer that arrives on a thread
(decoded IPC, parquet-wasm's output copied out, and on the main thread the transferred columns and recycled sinks,
~13 MB per 25k-row partition) brings the next full collection closer, and the main thread's full collections mark
its whole heap, customer histories included (52k customers at 10M, each with small off-heap typed arrays).
At 1M rows (2.5k-row partitions) the per-partition fixed costs of the threads (messages,
Arrow table build, fsync) make the new code no faster than the old one in CPU s (15–18 CPU s per 1M rows both).
Next: exchange partitions through SharedArrayBuffer slots sent to the threads once (no per-partition transfer,
so nothing new is counted on the main thread), keep each customer history in a few large shared typed arrays
instead of small per-customer ones (less marking and sweeping), and shard the kernel by customer only if the
main thread becomes the critical path again.
`;

function line(label: string, run: StageRun, rowsProcessed: number): string {
  const s = run.summary as
    { partitionsWritten?: number; threadCpuSeconds?: { main: number; parquet: number[] } } | undefined;
  const t = s?.threadCpuSeconds;
  const threads = t ? `${t.main.toFixed(1)} / ${t.parquet.map((x) => x.toFixed(1)).join(' + ')}` : '–';
  return `| ${label} | ${rowsProcessed.toLocaleString('en')} | ${s?.partitionsWritten ?? '?'} | ${run.wall_seconds.toFixed(1)} | ${run.cpu_seconds.toFixed(1)} | ${threads} | ${Math.round(rowsProcessed / run.wall_seconds).toLocaleString('en')} | ${Math.round(rowsProcessed / run.cpu_seconds).toLocaleString('en')} | ${Math.round(run.peak_rss_mb)} |`;
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
// Same full recompute with the speed option (`parquet.compression: "uncompressed"`) into a second
// work dir on the same lake, then a check that both stores hold the same table partition by partition.
const dirU = `${dir}-uncompressed`;
fs.rmSync(dirU, { recursive: true, force: true });
fs.mkdirSync(dirU, { recursive: true });
fs.symlinkSync(fs.realpathSync(path.join(dir, 'lake')), path.join(dirU, 'lake'));
const defaults = JSON.parse(fs.readFileSync(path.join(ROOT, 'packages', 'features', 'params.json'), 'utf8')) as Record<
  string,
  unknown
>;
const paramsU = path.join(dirU, 'params-uncompressed.json');
fs.writeFileSync(paramsU, JSON.stringify({ ...defaults, parquet: { compression: 'uncompressed' } }));
const fullU = runStage('packages/features/src/cli.ts', ['--full', '--params', paramsU], dirU);
function storeBytes(dataDir: string): number {
  return listPartitions(dataLayout(dataDir).featureStore).reduce(
    (s, p) => s + p.files.reduce((t, f) => t + fs.statSync(f).size, 0),
    0,
  );
}
const [bytesS, bytesU] = [storeBytes(dir), storeBytes(dirU)];
const readBack = (file: string) =>
  tableFromIPC(readParquet(fs.readFileSync(file), { batchSize: 1 << 24 }).intoIPCStream());
let sameContent = true;
const partsS = listPartitions(layout.featureStore);
const partsU = listPartitions(dataLayout(dirU).featureStore);
if (partsS.map((p) => p.date).join() !== partsU.map((p) => p.date).join()) sameContent = false;
for (let i = 0; sameContent && i < partsS.length; i++) {
  // Decoded by the same reader, equal tables give equal IPC bytes (one batch per row group keeps this cheap at 10M rows).
  const a = tableToIPC(readBack(partsS[i]!.files[0]!), 'stream');
  const b = tableToIPC(readBack(partsU[i]!.files[0]!), 'stream');
  sameContent = Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}
const loadEnd = os.loadavg()[0]!;
const customers = (full.summary as { customers?: number }).customers;

const text = [
  '## Features stage',
  '',
  existingLake
    ? `Existing lake \`${existingLake}\` (generated MiBolsillo-dialect rows, ingested earlier; symlinked read-only), then the features`
    : `Generated rows in the MiBolsillo dialect (core generator, seed ${values.seed}), ingested to the lake, then the features`,
  `CLI (\`tsx packages/features/src/cli.ts\`) in its own process. ${full.rows_in.toLocaleString('en')} rows, ${listPartitions(layout.lake).length} date partitions, ${customers} customers.`,
  `Machine: ${os.cpus().length} cores${Math.max(loadStart, loadEnd) > os.cpus().length ? ', shared with other jobs' : ''} (1-minute load average ${loadStart.toFixed(1)} at start, ${loadAfterFull.toFixed(1)} after the full run, ${loadEnd.toFixed(1)} at the end), Node ${process.version}.`,
  'Times and peak RSS from `monitoring/runs.jsonl` (recorded by runCli). Command: `npx tsx bench/features.ts ' +
    (existingLake ? `--lake ${existingLake}` : `--rows ${rows}`) +
    (values['no-incremental'] ? ' --no-incremental' : '') +
    '`.',
  '',
  '| Run | Rows processed | Partitions written | Wall s | CPU s | CPU s main / Parquet threads | Rows/s (wall) | Rows/s (CPU) | Peak RSS MB |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  line('full recompute (snappy, the default)', full, full.rows_in),
  line('full recompute, `parquet.compression: "uncompressed"`', fullU, fullU.rows_in),
  line('no-op rerun (inputs unchanged)', noop, full.rows_in),
  ...(incremental
    ? [line(`incremental (last 7 days changed: replays history, rewrites 7)`, incremental, incremental.rows_in)]
    : []),
  '',
  `Store size: snappy ${(bytesS / 2 ** 20).toFixed(0)} MiB, uncompressed ${(bytesU / 2 ** 20).toFixed(0)} MiB; both stores hold the same tables ` +
    `(every partition read back with parquet-wasm + apache-arrow, compared as IPC bytes): ${sameContent ? 'yes' : '**NO**'}.`,
  '',
  'Rows/s counts the rows the run read; the no-op rerun only hashes the lake partitions. CPU s is the whole',
  'process (all threads, including V8\'s own: garbage collection and compilers); "main / Parquet threads" is the CPU time of',
  `the main thread (start-up, kernel) and of each Parquet thread, read from /proc/thread-self/stat by the run.${Math.max(loadStart, loadEnd) > os.cpus().length ? " With a load average above the core count, wall time mostly measures the other jobs' share." : ''}`,
  '',
  NOTES,
].join('\n');
writeFileAtomic(path.resolve(ROOT, values.out!), text);
process.stdout.write(text);
