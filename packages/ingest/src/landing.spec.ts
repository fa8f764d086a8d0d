import fs from 'node:fs';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import type { Transaction } from '@bolsillo/schema';
import { ingestLanding, LANDING_PART } from './landing';
import { ingest, readLake, tmpDir, writeGenerated } from './ingest.test-util';

function land(dataDir: string, writer: string, rows: Transaction[]): void {
  const dir = path.join(dataLayout(dataDir).landing, writer);
  fs.mkdirSync(dir, { recursive: true });
  fs.appendFileSync(path.join(dir, '2026-12-02.jsonl'), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

describe('ingestLanding', () => {
  it('adds landed transactions to the lake once per id, never a second time for an id a source file already has', async () => {
    const root = tmpDir('landing');
    const raw = path.join(root, 'raw');
    const data = path.join(root, 'data');
    writeGenerated(raw, 'gen.csv', { rows: 40, seed: 3 });
    await ingest(raw, data);
    const lake = readLake(data);
    const base = lake[0]!;
    const pushed = (id: string, over: Partial<Transaction>, line: number): Transaction => ({
      ...base,
      ...over,
      txn_id: id,
      source_file: 'landing/api-a/2026-12-02.jsonl',
      source_line: line,
    });
    // A new transaction on a lake date, one on a new date, a replay of a source-file row (same id),
    // the first again from another writer, and a torn-free line that is not a transaction.
    land(data, 'api-a', [
      pushed('push-1', {}, 1),
      pushed('push-2', { date: '2030-01-01' }, 2),
      { ...lake[1]!, source_file: 'landing/api-a/2026-12-02.jsonl', source_line: 3 },
    ]);
    land(data, 'api-b', [pushed('push-1', {}, 1)]);
    fs.appendFileSync(path.join(dataLayout(data).landing, 'api-b', '2026-12-02.jsonl'), '{"txn_id":"broken"}\n');

    const logs: string[] = [];
    const r = ingestLanding(data, (m) => logs.push(m));
    expect(r).toMatchObject({ files: 2, rows: 2, duplicates: 1, inSourceFiles: 1, invalid: 1, unchanged: false });
    const after = readLake(data);
    expect(after).toHaveLength(lake.length + 2);
    expect(new Set(after.map((t) => t.txn_id)).size).toBe(after.length);
    expect(fs.existsSync(path.join(dataLayout(data).lake, 'date=2030-01-01', LANDING_PART))).toBe(true);
    expect(logs.join('\n')).toMatch(/api-b\/2026-12-02.jsonl:2 is not a valid transaction/);

    // Nothing changed: nothing to do. A new source file run keeps the landed rows.
    expect(ingestLanding(data, () => undefined).unchanged).toBe(true);
    writeGenerated(raw, 'gen2.csv', { rows: 20, seed: 4 });
    await ingest(raw, data);
    ingestLanding(data, () => undefined);
    const again = readLake(data);
    expect(
      again
        .filter((t) => t.txn_id.startsWith('push-'))
        .map((t) => t.txn_id)
        .sort(),
    ).toEqual(['push-1', 'push-2']);
    expect(new Set(again.map((t) => t.txn_id)).size).toBe(again.length);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
