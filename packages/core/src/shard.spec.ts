import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { acquireDataLock, acquireShardLock, DATA_LOCK_ENV, shardLockFile } from './data-lock';
import {
  cleanPartTemporaries,
  describeRole,
  listShardDirs,
  parseShardSpec,
  partShard,
  removeStaleParts,
  shardOf,
  shardPartName,
  shardRole,
  shardsOfDictionary,
  shardTag,
  WHOLE,
} from './shard';

const tmp = (label: string) => fs.mkdtempSync(path.join(os.tmpdir(), `bolsillo-shard-${label}-`));
const keys = (n: number) =>
  Array.from({ length: n }, (_, i) => crypto.createHash('sha256').update(`customer ${i}`).digest('hex'));

describe('shard spec', () => {
  it('parses i/N, treats 0/1 as the whole stage, and names what is wrong', () => {
    expect(parseShardSpec('2/4')).toEqual({ kind: 'shard', index: 2, count: 4 });
    expect(parseShardSpec(' 0 / 2 ')).toEqual({ kind: 'shard', index: 0, count: 2 });
    expect(parseShardSpec('0/1')).toBe(WHOLE);
    expect(() => parseShardSpec('4/4')).toThrow('shard index 4 is out of range for 4 shards (0..3)');
    expect(() => parseShardSpec('1/0')).toThrow('shard count 0 is out of range');
    expect(() => parseShardSpec('a/4')).toThrow('expected i/N');
    expect(() => parseShardSpec('-1/4')).toThrow('expected i/N');
  });

  it('takes the role from --shard, --merge, or the Indexed Job environment', () => {
    const job = { JOB_COMPLETION_INDEX: '3', BOLSILLO_SHARDS: '4' };
    expect(shardRole({}, {})).toBe(WHOLE);
    expect(shardRole({}, job)).toEqual({ kind: 'shard', index: 3, count: 4 });
    expect(shardRole({ shard: '1/2' }, job)).toEqual({ kind: 'shard', index: 1, count: 2 });
    expect(shardRole({}, { BOLSILLO_SHARDS: '4' })).toBe(WHOLE);
    expect(shardRole({ merge: true }, { BOLSILLO_SHARDS: '4' })).toEqual({ kind: 'merge', count: 4 });
    expect(shardRole({ merge: true, shards: '2' }, { BOLSILLO_SHARDS: '4' })).toEqual({ kind: 'merge', count: 2 });
    expect(() => shardRole({ merge: true }, {})).toThrow('--merge needs the shard count');
    expect(() => shardRole({ merge: true, shards: '1' }, {})).toThrow('nothing to merge');
    expect(() => shardRole({ merge: true, shard: '0/2' }, {})).toThrow('exclude each other');
    expect(() => shardRole({ shards: '2' }, {})).toThrow('--shards goes with --merge');
    expect(describeRole({ kind: 'shard', index: 1, count: 4 })).toBe('1/4');
    expect(describeRole({ kind: 'merge', count: 4 })).toBe('merge of 4');
  });
});

describe('shardOf', () => {
  it('is stable: these values are part of the data layout (a change moves customers between shards)', () => {
    const [a, b, c] = keys(3);
    expect([a, b, c].map((k) => shardOf(k!, 4))).toEqual([0, 2, 3]);
    expect([shardOf('c1', 4), shardOf('abc', 1000), shardOf('c1', 1)]).toEqual([2, 588, 0]);
    expect(shardOf('', 7)).toBe(shardOf('', 7));
  });

  it('spreads pseudonymised keys evenly: each of 4 shards gets 25% ± 1.5% of 20,000 customers', () => {
    const counts = [0, 0, 0, 0];
    for (const k of keys(20_000)) counts[shardOf(k, 4)]! += 1;
    for (const n of counts) expect(Math.abs(n / 20_000 - 0.25)).toBeLessThan(0.015);
  });

  it('spreads short, similar keys too (test fixtures use c1, c2, ...)', () => {
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOf(`c${i}`, 3)]! += 1;
    for (const n of counts) expect(n).toBeGreaterThan(900);
  });

  it('per dictionary entry, cached, including entries added to a growing dictionary', () => {
    const dict = keys(10);
    const first = shardsOfDictionary(dict, 4);
    expect(Array.from(first)).toEqual(dict.map((k) => shardOf(k, 4)));
    dict.push(...keys(12).slice(10));
    expect(Array.from(shardsOfDictionary(dict, 4))).toEqual(dict.map((k) => shardOf(k, 4)));
    expect(Array.from(shardsOfDictionary(dict, 3))).toEqual(dict.map((k) => shardOf(k, 3)));
  });
});

describe('part files', () => {
  it('names parts and shard folders, and reads them back', () => {
    expect(shardPartName(3)).toBe('part-3.parquet');
    expect(shardPartName(0, 'landing')).toBe('landing-0.parquet');
    expect(partShard('/x/date=2020-01-01/part-12.parquet')).toEqual({ prefix: 'part', index: 12 });
    expect(partShard('.part-1.parquet.tmp-1-ab')).toBeNull();
    expect(shardTag(1, 4)).toBe('1-of-4');
    const root = tmp('dirs');
    for (const d of ['1-of-4', '0-of-4', '0-of-2', 'other']) fs.mkdirSync(path.join(root, d));
    expect(listShardDirs(root).map((s) => [s.index, s.count])).toEqual([
      [0, 2],
      [0, 4],
      [1, 4],
    ]);
  });

  it("removes only its own parts' temporaries, and stale parts of shards beyond the count", () => {
    const root = tmp('parts');
    const day = path.join(root, 'date=2020-01-01');
    const other = path.join(root, 'date=2020-01-02');
    fs.mkdirSync(day, { recursive: true });
    fs.mkdirSync(other, { recursive: true });
    for (const f of [
      'part-0.parquet',
      'part-1.parquet',
      'part-3.parquet',
      'landing-3.parquet',
      '.part-1.parquet.tmp-9-aa',
      '.part-0.parquet.tmp-9-bb',
    ])
      fs.writeFileSync(path.join(day, f), 'x');
    fs.writeFileSync(path.join(other, 'part-2.parquet'), 'x');
    expect(cleanPartTemporaries(root, ['part-1.parquet'])).toBe(1);
    expect(fs.readdirSync(day)).toContain('.part-0.parquet.tmp-9-bb');
    expect(removeStaleParts(root, 2, ['part', 'landing'])).toBe(3);
    expect(fs.readdirSync(day).sort()).toEqual(['.part-0.parquet.tmp-9-bb', 'part-0.parquet', 'part-1.parquet']);
    expect(fs.existsSync(other)).toBe(false);
  });
});

describe('shard locks', () => {
  it('two shards of a stage run at once; the same shard twice, or a shard beside another run, is refused', () => {
    const data = tmp('lock');
    const env: NodeJS.ProcessEnv = {};
    const release0 = acquireShardLock(data, 'ingest', 0, env);
    const release1 = acquireShardLock(data, 'ingest', 1, env);
    expect(() => acquireShardLock(data, 'ingest', 0, env)).toThrow(/ingest shard 0 .* is already running/);
    release0();
    release1();
    expect(fs.existsSync(path.join(data, shardLockFile('ingest', 0)))).toBe(false);

    const releaseWhole = acquireDataLock(data, 'ingest', env);
    // The whole run's own children (its pipeline) may run shards; anyone else is refused.
    expect(() => acquireShardLock(data, 'ingest', 0, {})).toThrow(/refused: ingest .* a shard would interleave/);
    const joined = acquireShardLock(data, 'ingest', 0, { [DATA_LOCK_ENV]: env[DATA_LOCK_ENV] });
    joined();
    releaseWhole();
  });

  it("takes over a lock whose process is gone, or that was taken on another host (a failed pod's)", () => {
    const data = tmp('stale');
    const file = path.join(data, shardLockFile('features', 2));
    fs.writeFileSync(file, JSON.stringify({ pid: 2 ** 22 + 7, what: 'features shard 2', host: os.hostname() }));
    acquireShardLock(data, 'features', 2, {})();
    fs.writeFileSync(file, JSON.stringify({ pid: process.pid, what: 'features shard 2', host: 'pod-elsewhere' }));
    acquireShardLock(data, 'features', 2, {})();
  });
});
