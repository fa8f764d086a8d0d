import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readJsonl } from '@bolsillo/core';
import { JsonlLog } from './jsonl-log';

describe('JsonlLog', () => {
  it('buffers without touching the disk, then appends per date partition on flush and close', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-log-'));
    const log = new JsonlLog<{ i: number }>({ root, flushMs: 60_000, pid: 42, startMs: 1000 });
    log.push('2024-01-01', { i: 1 });
    log.push('2024-01-02', { i: 2 });
    expect(fs.readdirSync(root)).toEqual([]);
    expect(log.pending).toBe(2);
    await log.flush();
    log.push('2024-01-01', { i: 3 });
    await log.close();
    expect(readJsonl(path.join(root, 'date=2024-01-01', '42-1000.jsonl'))).toEqual([{ i: 1 }, { i: 3 }]);
    expect(readJsonl(log.fileFor('2024-01-02'))).toEqual([{ i: 2 }]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('drops and counts lines beyond the buffer bound or after close instead of growing', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-log-'));
    let dropped = 0;
    const log = new JsonlLog<number>({ root, flushMs: 60_000, maxBuffered: 3, onDrop: (n) => (dropped += n) });
    for (let i = 0; i < 5; i++) log.push('2024-01-01', i);
    expect(dropped).toBe(2);
    await log.close();
    log.push('2024-01-01', 9);
    expect(dropped).toBe(3);
    expect(readJsonl(log.fileFor('2024-01-01'))).toEqual([0, 1, 2]);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
