/**
 * `npm run pipeline -- --shards N` (tools/run-pipeline.js → tools/run-sharded.js): the option, the
 * stages' summary lines, and the sharded stages run as N processes and a merge on the committed sample,
 * giving the lake, feature store and online store of one process.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { dataLayout, listPartitions, readParquetFile, rowsFromTable } from '@bolsillo/core';

const { shardsOption } = require('./run-pipeline') as {
  shardsOption: (argv: string[]) => {
    shards: number | null;
    parallel: number | null;
    ingestParts: boolean;
    rest: string[];
  };
};
const { runSharded, doneLine } = require('./run-sharded') as {
  runSharded: (o: {
    shards: number;
    env: NodeJS.ProcessEnv;
    stages: string[];
    parallel?: number;
    ingestParts?: boolean;
    out?: NodeJS.WritableStream;
    err?: NodeJS.WritableStream;
  }) => Promise<{
    code: number;
    stages: Map<string, { status: string; cache: string; rowsIn?: number; rowsOut?: number; error?: string }>;
  }>;
  doneLine: (line: string) => Record<string, unknown> | null;
};

const ROOT = path.resolve(__dirname, '..');

describe('pipeline --shards', () => {
  it('takes the shard count out of the arguments, and refuses anything but a count', () => {
    expect(shardsOption(['--shards', '4'])).toEqual({ shards: 4, parallel: 4, ingestParts: false, rest: [] });
    expect(shardsOption(['--skip-nx-cache', '--shards=2'])).toMatchObject({ shards: 2, rest: ['--skip-nx-cache'] });
    expect(shardsOption(['--skip-nx-cache'])).toEqual({
      shards: null,
      parallel: null,
      ingestParts: false,
      rest: ['--skip-nx-cache'],
    });
    expect(shardsOption(['--ingest-parts', '--shards', '8', '--parallel=2'])).toEqual({
      shards: 8,
      parallel: 2,
      ingestParts: true,
      rest: [],
    });
    expect(() => shardsOption(['--shards'])).toThrow('--shards takes a shard count, 1..1024 (got nothing)');
    expect(() => shardsOption(['--shards', 'x'])).toThrow('(got "x")');
    expect(() => shardsOption(['--shards', '0'])).toThrow('1..1024');
    expect(() => shardsOption(['--shards', '2', '--parallel', '0'])).toThrow('--parallel takes a process count');
    expect(() => shardsOption(['--parallel', '2'])).toThrow('go with --shards N');
    expect(() => shardsOption(['--ingest-parts'])).toThrow('go with --shards N');
  });

  it("reads a shard's, a merge's and a whole stage's summary line", () => {
    expect(doneLine('[ingest 1/4] done: rows in 3000, rows out 565, 19.57s')).toMatchObject({
      stage: 'ingest',
      role: '1/4',
      rowsOut: 565,
    });
    expect(doneLine('[features merge of 4] done: partitions in 400, customers out 23, 0.47s')).toMatchObject({
      role: 'merge of 4',
      unitIn: 'partitions',
      rowsIn: 400,
      unitOut: 'customers',
      rowsOut: 23,
    });
    expect(doneLine('[train] done: training rows in 873, models out 6, 51.00s')).toMatchObject({ role: 'whole' });
    expect(doneLine('[train] plan: ...')).toBeNull();
  });

  it('runs ingest, features and build as 2 processes and a merge each: the stores and master of one process', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-run-sharded-'));
    const run = (dataDir: string, shards: number, more: { parallel?: number; ingestParts?: boolean } = {}) =>
      runSharded({
        shards,
        ...more,
        stages: ['ingest', 'features', 'build'],
        env: { ...process.env, DATA_DIR: dataDir, RAW_DIR: path.join(ROOT, 'data', 'raw'), FORCE_COLOR: '0' },
      });
    const one = path.join(root, 'one');
    const two = path.join(root, 'two');
    const parts = path.join(root, 'parts');
    const a = await run(one, 1);
    const b = await run(two, 2);
    // One shard process at a time, and ingest parsing once for both parts: the same data again.
    const c = await run(parts, 2, { parallel: 1, ingestParts: true });
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(c.code).toBe(0);
    expect(c.stages.get('ingest')).toMatchObject({ status: 'ok', cache: '2 parts, one parse', rowsIn: 3000 });
    expect(c.stages.get('features')).toMatchObject({ status: 'ok', cache: '2 shards' });
    expect(b.stages.get('ingest')).toMatchObject({ status: 'ok', cache: '2 shards', rowsIn: 3000, rowsOut: 3000 });
    expect(b.stages.get('features')).toMatchObject({ status: 'ok', cache: '2 shards' });
    expect(b.stages.get('build')).toMatchObject({ status: 'ok', cache: '2 shards', rowsIn: 3000 });
    expect(a.stages.get('build')).toMatchObject({ status: 'ok', cache: 'one process' });
    const rows = (dataDir: string, store: 'lake' | 'featureStore') =>
      listPartitions(dataLayout(dataDir)[store])
        .flatMap((p) => p.files.flatMap((f) => rowsFromTable<Record<string, unknown>>(readParquetFile(f))))
        .map((r) => JSON.stringify(r))
        .sort();
    for (const sharded of [two, parts]) {
      expect(rows(sharded, 'lake')).toEqual(rows(one, 'lake'));
      expect(rows(sharded, 'featureStore')).toEqual(rows(one, 'featureStore'));
    }
    expect(rows(two, 'featureStore')).toHaveLength(3000);
    expect(fs.readFileSync(dataLayout(two).onlineSnapshot, 'utf8')).toBe(
      fs.readFileSync(dataLayout(one).onlineSnapshot, 'utf8'),
    );
    const latest = (dataDir: string) => fs.readFileSync(dataLayout(dataDir).masterLatest, 'utf8');
    expect(latest(two)).toBe(latest(one));
    expect(latest(parts)).toBe(latest(one));
    fs.rmSync(root, { recursive: true, force: true });
  }, 600_000);

  it('stops at a failing shard and names it', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-run-sharded-fail-'));
    const out = new PassThrough();
    let said = '';
    out.on('data', (chunk: Buffer) => (said += chunk.toString()));
    // One at a time: shard 1 never starts after shard 0 failed.
    const r = await runSharded({
      shards: 2,
      parallel: 1,
      stages: ['ingest', 'features'],
      env: { ...process.env, DATA_DIR: dataDir, RAW_DIR: path.join(dataDir, 'no-such-folder'), FORCE_COLOR: '0' },
      out,
      err: out,
    });
    expect(said).toMatch(/\[ingest 0\/2\]/);
    expect(said).not.toMatch(/\[ingest 1\/2\]/);
    expect(r.code).toBe(1);
    expect(r.stages.get('ingest')).toMatchObject({ status: 'failed' });
    expect(r.stages.get('ingest')!.error).toMatch(/^shard 0\/2: raw folder .*no-such-folder does not exist/);
    expect(r.stages.has('features')).toBe(false);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 300_000);
});
