/**
 * Source of the Parquet thread (plain JavaScript evaluated from a string: no TypeScript loader is
 * needed in the thread). It keeps the per-row string and Arrow work off the main thread:
 *
 * - `readColumns`: parquet-wasm decode of a lake partition (one record batch per row group), then
 *   the columns the kernel reads, built straight from the Arrow buffers: string columns interned
 *   into per-partition dictionaries + Int32 codes from their UTF-8 bytes (one JS string per distinct
 *   value, none per row), typed number columns, and the raw UTF-8 of the key columns. Everything is
 *   transferred to the main thread, not copied, and comes back with `writeFeatures` into the writing
 *   thread's buffer pool (reused for the next partitions: no fresh zeroed buffers per partition).
 *   The lake file is read into one reused buffer per thread. customer_key ids are the thread's own for its whole
 *   life (`{ ids, added }`: only customers new to the thread travel; {@link ParquetWorker} keeps
 *   the full dictionary on the main thread). Same result as `txnColumnsFromTable` (txn-columns.ts;
 *   `parquet-worker.spec.ts` checks they agree).
 * - `writeFeatures`: the kernel's typed feature columns (category features as codes + a small
 *   dictionary) and the key columns → the feature-row Arrow table (same table as
 *   `featureTableFromColumns` in feature-table.ts) → Parquet with core's compatible writer
 *   properties (V1 pages, no dictionary: the only layout parquetjs-lite opens) and the chosen codec
 *   → atomic write (temporary sibling named like core's, fsync, rename); the sink's arrays are
 *   transferred back for the next partition.
 * - `read` / `write`: a plain table as an IPC stream in or out (what core's `readParquetFile` /
 *   `tableToCompatibleParquet` + `writeFileAtomic` do).
 * - `stats`: the thread's own CPU time (Linux), for the run's log.
 */
export const PARQUET_WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const pw = require(workerData.parquetWasm);
const arrow = require(workerData.apacheArrow);
const CODECS = { snappy: pw.Compression.SNAPPY, uncompressed: pw.Compression.UNCOMPRESSED, gzip: pw.Compression.GZIP };
const codec = CODECS[workerData.compression];
if (codec === undefined) throw new Error('unknown parquet compression ' + workerData.compression);
const SCHEMA = workerData.schemaIpc ? arrow.tableFromIPC(workerData.schemaIpc).schema : null;
const PLAN = workerData.plan;
// CPU time of this thread (Linux: /proc/thread-self/stat, utime + stime in clock ticks); null elsewhere.
function threadCpuSeconds() {
  try {
    const stat = fs.readFileSync('/proc/thread-self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return null;
  }
}
const decoder = new TextDecoder();
const encoder = new TextEncoder();

function writeAtomic(target, data) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = path.join(path.dirname(target), '.' + path.basename(target) + '.tmp-' + process.pid + '-' + crypto.randomBytes(4).toString('hex'));
  const fd = fs.openSync(tmp, 'w');
  try { fs.writeSync(fd, data); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  fs.renameSync(tmp, target);
}
function writeParquetAtomic(file, ipc) {
  const props = new pw.WriterPropertiesBuilder().setWriterVersion(pw.WriterVersion.V1).setDictionaryEnabled(false).setCompression(codec).build();
  writeAtomic(file, pw.writeParquet(pw.Table.fromIPCStream(ipc), props));
}
// One record batch per row group (parquet-wasm's default is 1024 rows): apache-arrow's
// tableFromIPC then costs ~0.4 ms per 28k-row partition instead of ~57 ms.
// The file is read into one grow-only buffer per thread (parquet-wasm copies its input into wasm
// memory): a fresh buffer per partition would add to the external memory that drives this
// thread's full collections.
let readBuffer = Buffer.alloc(0);
function readWhole(file) {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (readBuffer.length < size) readBuffer = Buffer.allocUnsafe(Math.max(size, readBuffer.length * 2));
    let at = 0;
    while (at < size) {
      const got = fs.readSync(fd, readBuffer, at, size - at, at);
      if (got === 0) throw new Error('unexpected end of ' + file);
      at += got;
    }
    return readBuffer.subarray(0, size);
  } finally {
    fs.closeSync(fd);
  }
}
// \`hashes\`, when given, receives the file's sha256 (hex): a full recompute hashes the lake here,
// on the bytes already read, instead of reading every file once more on the main thread first.
function decode(file, hashes) {
  const bytes = readWhole(file);
  if (hashes) hashes.push(crypto.createHash('sha256').update(bytes).digest('hex'));
  return pw.readParquet(bytes, { batchSize: 1 << 24 }).intoIPCStream();
}

// ---- lake partition -> kernel columns (mirrors txn-columns.ts)
// The input columns of a partition travel to the main thread and back (to whichever thread writes
// the partition, as \`spent\`): their buffers are kept here and reused for the next partitions
// instead of allocating ~5 MB of fresh, zeroed memory per 25k-row partition (fewer page faults and
// less external memory, which counts towards this thread's full collections). Callers write every
// element of what they take.
const spareBuffers = [];
const MAX_SPARE_BYTES = 64 << 20;
function take(Type, length) {
  const bytes = length * Type.BYTES_PER_ELEMENT;
  let best = -1;
  for (let k = 0; k < spareBuffers.length; k++) {
    const b = spareBuffers[k];
    if (b.byteLength >= bytes && (best < 0 || b.byteLength < spareBuffers[best].byteLength)) best = k;
  }
  if (best < 0) return new Type(new ArrayBuffer(Math.ceil(bytes * 1.25) + 64), 0, length);
  return new Type(spareBuffers.splice(best, 1)[0], 0, length);
}
function giveBack(arrays) {
  let held = spareBuffers.reduce((t, b) => t + b.byteLength, 0);
  for (const a of arrays) {
    if (!a || !a.buffer || a.buffer.byteLength === 0 || held + a.buffer.byteLength > MAX_SPARE_BYTES) continue;
    if (spareBuffers.includes(a.buffer)) continue;
    spareBuffers.push(a.buffer);
    held += a.buffer.byteLength;
  }
}
function chunksOf(table, name) {
  const v = table.getChild(name);
  if (!v) throw new Error('lake partition has no column "' + name + '"');
  return v.data;
}
function allValid(d) { return d.nullCount === 0 || !d.nullBitmap || d.nullBitmap.length === 0; }
function isValid(d, i) {
  if (allValid(d)) return true;
  const j = d.offset + i;
  return (d.nullBitmap[j >> 3] & (1 << (j & 7))) !== 0;
}
function sameBytes(bytes, a, b, length) {
  for (let k = 0; k < length; k++) if (bytes[a + k] !== bytes[b + k]) return false;
  return true;
}
// Interns UTF-8 byte strings: open addressing on a hash of the length and the first 24 bytes (keys
// are hex digests, the rest short names); a byte comparison with the kept copy confirms every hit,
// so two different values never share an id. Ids are dense: 0, 1, 2, ... in order of first sight.
// A slot is 4 Int32 [hash, id (-1 = empty), start, end of the copy in the pool]: one cache line per
// probe, then the copy (the customer dictionary outgrows the caches).
class Interner {
  constructor() {
    this.dict = [];
    this.pool = new Uint8Array(1 << 12);
    this.used = 0;
    this.slots = 1 << 8;
    this.table = Interner.empty(this.slots);
  }
  static empty(slots) {
    const t = new Int32Array(slots * 4);
    for (let s = 0; s < slots; s++) t[s * 4 + 1] = -1;
    return t;
  }
  id(bytes, start, end) {
    const length = end - start;
    let h = 0x811c9dc5 ^ length;
    const stop = Math.min(end, start + 24);
    for (let i = start; i < stop; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
    const t = this.table;
    const mask = this.slots - 1;
    const pool = this.pool;
    for (let slot = (h ^ (h >>> 15)) & mask; ; slot = (slot + 1) & mask) {
      const e = slot << 2;
      const id = t[e + 1];
      if (id < 0) return this.add(bytes, start, end, h, e);
      if (t[e] !== h) continue;
      const at = t[e + 2];
      if (t[e + 3] - at !== length) continue;
      let k = 0;
      while (k < length && pool[at + k] === bytes[start + k]) k++;
      if (k === length) return id;
    }
  }
  add(bytes, start, end, h, e) {
    const id = this.dict.length;
    const length = end - start;
    if (this.used + length > this.pool.length) {
      const pool = new Uint8Array(Math.max(this.pool.length * 2, this.used + length));
      pool.set(this.pool.subarray(0, this.used));
      this.pool = pool;
    }
    this.pool.set(bytes.subarray(start, end), this.used);
    const t = this.table;
    t[e] = h;
    t[e + 1] = id;
    t[e + 2] = this.used;
    t[e + 3] = this.used + length;
    this.used += length;
    this.dict.push(decoder.decode(bytes.subarray(start, end)));
    if ((id + 1) * 2 > this.slots) this.grow();
    return id;
  }
  grow() {
    const old = this.table;
    const slots = this.slots * 2;
    const t = Interner.empty(slots);
    const mask = slots - 1;
    for (let e = 0; e < old.length; e += 4) {
      if (old[e + 1] < 0) continue;
      const h = old[e];
      let slot = (h ^ (h >>> 15)) & mask;
      while (t[(slot << 2) + 1] >= 0) slot = (slot + 1) & mask;
      t.set(old.subarray(e, e + 4), slot << 2);
    }
    this.table = t;
    this.slots = slots;
  }
}
function internInto(table, name, ids, interner) {
  let row = 0;
  for (const d of chunksOf(table, name)) {
    const offsets = d.valueOffsets;
    const bytes = d.values;
    const every = allValid(d);
    // Runs of one value (date and source file are constant in a partition) skip the hash.
    let prevStart = -1, prevEnd = -1, prevId = -1;
    for (let i = 0; i < d.length; i++, row++) {
      if (!every && !isValid(d, i)) { ids[row] = -1; continue; }
      const start = offsets[d.offset + i];
      const end = offsets[d.offset + i + 1];
      if (prevId >= 0 && end - start === prevEnd - prevStart && sameBytes(bytes, start, prevStart, end - start)) { ids[row] = prevId; continue; }
      prevId = ids[row] = interner.id(bytes, start, end);
      prevStart = start;
      prevEnd = end;
    }
  }
}
// Per partition for every column but customer_key: the kernel derives its per-value tables
// (calendar, places, flags) from each batch's dictionary, which stays small.
function internColumn(table, name, n) {
  const ids = take(Int32Array, n);
  const interner = new Interner();
  internInto(table, name, ids, interner);
  return { ids, dict: interner.dict };
}
// customer_key is interned for the thread's whole life: ids are stable across partitions, so the
// main thread maps each customer to its history once (per thread) instead of once per partition,
// and only the customers this thread has not seen before are sent.
const customers = new Interner();
function internCustomers(table, n) {
  const ids = take(Int32Array, n);
  const before = customers.dict.length;
  internInto(table, 'customer_key', ids, customers);
  return { ids, added: customers.dict.slice(before) };
}
function utf8Column(table, name, n) {
  const chunks = chunksOf(table, name);
  const offsets = take(Int32Array, n + 1);
  offsets[0] = 0;
  let total = 0;
  for (const d of chunks) total += d.valueOffsets[d.offset + d.length] - d.valueOffsets[d.offset];
  const bytes = take(Uint8Array, total);
  let row = 0, at = 0;
  for (const d of chunks) {
    const o = d.valueOffsets;
    const from = o[d.offset], to = o[d.offset + d.length];
    bytes.set(d.values.subarray(from, to), at);
    for (let i = 0; i < d.length; i++) offsets[++row] = at + o[d.offset + i + 1] - from;
    at += to - from;
  }
  return { offsets, bytes };
}
function numberColumn(table, name, n, Type, valid) {
  const out = take(Type, n);
  let row = 0;
  for (const d of chunksOf(table, name)) {
    out.set(d.values.subarray(d.offset, d.offset + d.length), row);
    if (valid) for (let i = 0; i < d.length; i++) valid[row + i] = isValid(d, i) ? 1 : 0;
    row += d.length;
  }
  return out;
}
const INTERNED = ['date', 'account_cohort', 'city', 'state', 'sex', 'merchant_group', 'merchant_city', 'merchant_country', 'source_file'];
function txnColumns(files, hashes) {
  const tables = files.map((f) => arrow.tableFromIPC(decode(f, hashes)));
  const table = tables.length === 1 ? tables[0] : tables[0].concat(...tables.slice(1));
  const n = table.numRows;
  const cols = { length: n };
  cols.txn_id = utf8Column(table, 'txn_id', n);
  cols.customer_key_bytes = utf8Column(table, 'customer_key', n);
  cols.date_bytes = utf8Column(table, 'date', n);
  for (const name of INTERNED) cols[name] = internColumn(table, name, n);
  cols.customer_key = internCustomers(table, n);
  for (const name of ['age', 'credit_limit', 'available_limit', 'source_line']) cols[name] = numberColumn(table, name, n, Int32Array);
  cols.amount_valid = take(Uint8Array, n);
  cols.amount = numberColumn(table, 'amount', n, Float64Array, cols.amount_valid);
  const transfer = [cols.txn_id, cols.customer_key_bytes, cols.date_bytes].flatMap((u) => [u.offsets.buffer, u.bytes.buffer]);
  for (const name of [...INTERNED, 'customer_key']) transfer.push(cols[name].ids.buffer);
  for (const name of ['age', 'credit_limit', 'available_limit', 'source_line', 'amount', 'amount_valid']) transfer.push(cols[name].buffer);
  return { cols, transfer };
}

// ---- kernel output -> feature-row table (mirrors featureTableFromColumns in feature-table.ts)
function bitmap(n) { return new Uint8Array((n + 7) >> 3); }
// The lake is written in history order, so the order is usually the identity: one block copy.
function isIdentity(order) {
  for (let k = 0; k < order.length; k++) if (order[k] !== k) return false;
  return true;
}
function gatherUtf8(src, order, identity) {
  const n = order.length;
  if (identity) {
    // Views, not copies: the arrays were transferred here and are only read (tableToIPC copies them).
    const from = src.offsets[0];
    const valueOffsets = from === 0 ? src.offsets.subarray(0, n + 1) : src.offsets.slice(0, n + 1).map((o) => o - from);
    return { valueOffsets, data: src.bytes.subarray(from, src.offsets[n]) };
  }
  const valueOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let k = 0; k < n; k++) { const i = order[k]; total += src.offsets[i + 1] - src.offsets[i]; valueOffsets[k + 1] = total; }
  const data = new Uint8Array(total);
  const bytes = src.bytes;
  const offsets = src.offsets;
  // A byte loop: values are short (ids, digests, dates), a subarray per row would cost more.
  for (let k = 0; k < n; k++) {
    const i = order[k];
    let at = valueOffsets[k];
    for (let j = offsets[i], end = offsets[i + 1]; j < end; j++) data[at++] = bytes[j];
  }
  return { valueOffsets, data };
}
function validity(valid, n) {
  // Most features have no null: one native scan instead of a bitmap built bit by bit.
  const firstNull = valid.indexOf(0);
  if (firstNull < 0 || firstNull >= n) return { nullCount: 0, nullBitmap: undefined };
  const bits = bitmap(n);
  let nullCount = 0;
  for (let i = 0; i < n; i++) { if (valid[i]) bits[i >> 3] |= 1 << (i & 7); else nullCount += 1; }
  return { nullCount, nullBitmap: nullCount > 0 ? bits : undefined };
}
function featureData(type, step, m, n) {
  const f = step.f;
  const { nullCount, nullBitmap } = validity(m.valid[f], n);
  const base = { type, length: n, nullCount, nullBitmap };
  const v = m.values[f];
  if (step.kind === 'float') return arrow.makeData({ ...base, data: v.subarray(0, n) });
  if (step.kind === 'int') {
    const ints = new Int32Array(n);
    ints.set(v.subarray(0, n)); // native conversion (the values are whole numbers)
    return arrow.makeData({ ...base, data: ints });
  }
  if (step.kind === 'bool') {
    const bits = bitmap(n);
    for (let i = 0; i < n; i++) if (v[i] === 1) bits[i >> 3] |= 1 << (i & 7);
    return arrow.makeData({ ...base, data: bits });
  }
  // Category: codes into a small dictionary whose UTF-8 is encoded once per batch.
  const words = m.dicts[f].map((s) => encoder.encode(s));
  const codes = m.codes[f];
  const valid = m.valid[f];
  const valueOffsets = new Int32Array(n + 1);
  let total = 0;
  for (let i = 0; i < n; i++) { if (valid[i]) total += words[codes[i]].length; valueOffsets[i + 1] = total; }
  const data = new Uint8Array(total);
  for (let i = 0; i < n; i++) if (valid[i]) data.set(words[codes[i]], valueOffsets[i]);
  return arrow.makeData({ ...base, valueOffsets, data });
}
function writeFeatures(m) {
  const n = m.order.length;
  const identity = isIdentity(m.order);
  const children = SCHEMA.fields.map((field, j) => {
    const step = PLAN[j];
    if (step.key) return arrow.makeData({ type: field.type, length: n, nullCount: 0, ...gatherUtf8(m.keys[step.key], m.order, identity) });
    return featureData(field.type, step, m, n);
  });
  const struct = arrow.makeData({ type: new arrow.Struct(SCHEMA.fields), length: n, nullCount: 0, children });
  const table = new arrow.Table(SCHEMA, [new arrow.RecordBatch(SCHEMA, struct)]);
  writeParquetAtomic(m.file, arrow.tableToIPC(table, 'stream'));
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'readColumns') {
      const fileSha256 = m.hash ? [] : null;
      const { cols, transfer } = txnColumns(m.files, fileSha256);
      parentPort.postMessage({ id: m.id, cols, fileSha256 }, transfer);
    } else if (m.op === 'writeFeatures') {
      writeFeatures(m);
      giveBack([...m.spent, m.order, ...Object.values(m.keys).flatMap((u) => [u.offsets, u.bytes])]);
      // The sink's arrays go back to the main thread to be written again (no reallocation there).
      const recycled = { values: m.values, valid: m.valid, codes: m.codes };
      parentPort.postMessage({ id: m.id, recycled }, [...m.values, ...m.valid, ...m.codes].map((a) => a.buffer));
    } else if (m.op === 'read') {
      const ipc = decode(m.file);
      parentPort.postMessage({ id: m.id, ipc }, [ipc.buffer]);
    } else if (m.op === 'write') {
      writeParquetAtomic(m.file, m.ipc);
      parentPort.postMessage({ id: m.id });
    } else if (m.op === 'stats') {
      parentPort.postMessage({ id: m.id, cpuSeconds: threadCpuSeconds() });
    } else throw new Error('unknown op ' + m.op);
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String((error && error.stack) || error) });
  }
});
`;
