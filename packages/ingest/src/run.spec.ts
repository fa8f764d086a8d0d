import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, readParquetFile, rowsFromTable } from '@bolsillo/core';
import { RAW_COLUMNS } from '@bolsillo/schema';
import { ingest, readLake, readManifest, tmpDir, walk, writeGenerated, TEST_SECRET } from './ingest.test-util';
import { DEFAULT_PARAMS_FILE, runIngest } from './run';

const sortRows = <T extends { txn_id: string }>(rows: T[]) => [...rows].sort((a, b) => (a.txn_id < b.txn_id ? -1 : 1));

describe('runIngest on generated drops', () => {
  it('is incremental: nothing new → nothing; a new file alone; changed and removed files re-ingest their partitions; backfill gives the same content', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    writeGenerated(raw, 'day1.csv', { rows: 400, seed: 1, start: '2020-01-01', end: '2020-01-05' });
    writeGenerated(raw, 'day2.csv', { rows: 400, seed: 2, start: '2020-01-04', end: '2020-01-08' });
    const first = await ingest(raw, data);
    expect(first.rowsIn).toBe(800);
    expect(readLake(data)).toHaveLength(first.rowsOut);

    const again = await ingest(raw, data);
    expect(again.rowsIn).toBe(0);
    expect(again.summary).toMatchObject({ files_unchanged: 2 });

    const p1 = path.join(dataLayout(data).lake, 'date=2020-01-01', 'part-0.parquet');
    const before = fs.statSync(p1).mtimeMs;
    writeGenerated(raw, 'day3.csv', { rows: 150, seed: 3, start: '2020-01-09', end: '2020-01-09' });
    const third = await ingest(raw, data);
    expect(third.summary).toMatchObject({ files_parsed: ['day3.csv'], files_dropped: [] });
    expect(third.rowsIn).toBe(150);
    expect(fs.statSync(p1).mtimeMs).toBe(before); // untouched partition
    expect(Object.keys(readManifest(data).files)).toEqual(['day1.csv', 'day2.csv', 'day3.csv']);

    writeGenerated(raw, 'day2.csv', { rows: 300, seed: 22, start: '2020-01-06', end: '2020-01-07' });
    const changed = await ingest(raw, data);
    expect(changed.summary).toMatchObject({ files_parsed: ['day2.csv'], files_dropped: ['day2.csv'] });
    let lake = readLake(data);
    expect(lake.filter((r) => r.source_file === 'day2.csv').every((r) => r.date >= '2020-01-06' && r.date <= '2020-01-07')).toBe(true);
    expect(lake.filter((r) => r.source_file === 'day2.csv')).toHaveLength(readManifest(data).files['day2.csv']!.rows_out);

    fs.rmSync(path.join(raw, 'day1.csv'));
    await ingest(raw, data);
    lake = readLake(data);
    expect(lake.some((r) => r.source_file === 'day1.csv')).toBe(false);
    expect(fs.existsSync(p1)).toBe(false); // the partition only day1 had is gone
    expect(Object.keys(readManifest(data).files)).toEqual(['day2.csv', 'day3.csv']);

    const fresh = tmpDir('fresh');
    await ingest(raw, fresh, true);
    expect(readManifest(fresh).content_hash).toBe(readManifest(data).content_hash);
    expect(sortRows(readLake(fresh))).toEqual(sortRows(lake));
    const rebuilt = await ingest(raw, data, true);
    expect(rebuilt.summary).toMatchObject({ files_parsed: ['day2.csv', 'day3.csv'] });
    expect(readManifest(data).content_hash).toBe(readManifest(fresh).content_hash);
  });

  it('quarantines each invalid row with its reason, line and masked id; reports duplicates and nulls', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    const good = fs.readFileSync(writeGenerated(raw, 'mixed.csv', { rows: 60, seed: 4, start: '2020-02-01', end: '2020-02-03' }), 'latin1').split('\r\n');
    const row = good[1]!.split(';');
    const bad = (i: number, v: string) => row.map((f, k) => (k === i ? v : f)).join(';');
    const injected = [good[2]!, bad(4, '250'), bad(8, '30.02.2020'), bad(9, '12,,5'), bad(3, 'ZZ '), row.slice(0, 5).join(';')];
    const lines = [...good.slice(0, 11), ...injected, ...good.slice(11)];
    fs.writeFileSync(path.join(raw, 'mixed.csv'), Buffer.from(lines.join('\r\n'), 'latin1'));
    const result = await ingest(raw, data);
    const nulls = good.filter((l) => l.split(';')[9] === ' -   ').length;
    expect(result.rowsIn).toBe(66);
    expect(result.rowsOut).toBe(61);
    expect(result.summary).toMatchObject({
      duplicates: 1,
      null_amounts: nulls + (good[2]!.split(';')[9] === ' -   ' ? 1 : 0),
      quarantined: 5,
      quarantine_reasons: { implausible_age: 1, bad_date: 1, bad_amount: 1, unknown_state: 1, field_count: 1 },
    });
    const q = fs
      .readFileSync(path.join(dataLayout(data).quarantine, 'mixed.csv.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { source_line: number; reason: string; raw_line: string });
    expect(q.map((e) => [e.source_line, e.reason])).toEqual([
      [13, 'implausible_age'],
      [14, 'bad_date'],
      [15, 'bad_amount'],
      [16, 'unknown_state'],
      [17, 'field_count'],
    ]);
    expect(q.every((e) => e.raw_line.startsWith('***;') && !e.raw_line.includes(row[0]!))).toBe(true);
  });

  it.each([
    ['wrong header', Buffer.from(`${RAW_COLUMNS.join(';').replace(' valor ', 'valor')}\r\n1;2\r\n`), /bad\.csv: wrong header: missing columns " valor "; unexpected columns "valor"/],
    ['empty file', Buffer.alloc(0), /bad\.csv: empty file/],
    ['header only', Buffer.from(`${RAW_COLUMNS.join(';')}\r\n`), /bad\.csv: no valid rows/],
    ['binary garbage', Buffer.concat([Buffer.from(`${RAW_COLUMNS.join(';')}\r\n`), Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x0a, 0x9c])]), /bad\.csv: undecodable bytes at line 2/],
  ])('fails the run, naming the file, on %s, and writes nothing', async (_label, bytes, message) => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    writeGenerated(raw, 'good.csv', { rows: 30, seed: 5, start: '2020-03-01', end: '2020-03-02' });
    fs.writeFileSync(path.join(raw, 'bad.csv'), bytes);
    await expect(ingest(raw, data)).rejects.toThrow(message);
    expect(walk(data)).toEqual([]);
  });

  it('quarantines a truncated last line and keeps the rest', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    const file = writeGenerated(raw, 'cut.csv', { rows: 40, seed: 6, start: '2020-03-01', end: '2020-03-02' });
    const bytes = fs.readFileSync(file);
    fs.writeFileSync(file, bytes.subarray(0, bytes.length - 25));
    const result = await ingest(raw, data);
    expect(result.rowsIn).toBe(40);
    expect(result.rowsOut).toBe(39);
    const q = JSON.parse(fs.readFileSync(path.join(dataLayout(data).quarantine, 'cut.csv.jsonl'), 'utf8').trim()) as { source_line: number; reason: string };
    expect(q.source_line).toBe(41);
  });

  it('leaves no raw id and not the secret in any byte of the outputs, compressed or decoded', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    const csv = fs.readFileSync(writeGenerated(raw, 'ids.csv', { rows: 2000, seed: 8, start: '2020-01-01', end: '2020-01-15' }), 'latin1');
    // One bad row so the quarantine is an output too.
    fs.appendFileSync(path.join(raw, 'ids.csv'), Buffer.from(`${csv.split('\r\n')[1]!.replace(/;\d+;[FM];/, ';5;F;')}\r\n`, 'latin1'));
    const result = await ingest(raw, data);
    expect(result.summary).toMatchObject({ quarantined: 1 });
    const ids = [...new Set(csv.split('\r\n').slice(1).filter(Boolean).map((l) => l.split(';')[0]!))];
    expect(ids.length).toBeGreaterThan(5);
    const files = walk(data);
    expect(files.some((f) => f.includes('quarantine'))).toBe(true);
    const haystacks = files.map((f) => fs.readFileSync(f).toString('latin1'));
    for (const f of files.filter((x) => x.endsWith('.parquet'))) haystacks.push(JSON.stringify(rowsFromTable(readParquetFile(f))));
    haystacks.push(JSON.stringify(result.summary));
    for (const h of haystacks) {
      expect(h.includes(TEST_SECRET)).toBe(false);
      for (const id of ids) expect(h.includes(id)).toBe(false);
    }
  });
});

describe('bounded memory', () => {
  it('spilling buffered rows to disk gives the same lake as holding them in memory', async () => {
    const raw = tmpDir('raw');
    writeGenerated(raw, 'spill.csv', { rows: 1200, seed: 31, start: '2020-01-01', end: '2020-01-06' });
    const params = path.join(tmpDir('params'), 'params.json');
    fs.writeFileSync(params, JSON.stringify({ ...JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')), spill_rows: 100 }));
    const spilled = tmpDir('spilled');
    const held = tmpDir('held');
    const env = { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET };
    const a = await runIngest({ rawDir: raw, dataDir: spilled, paramsFile: params, env, log: () => undefined });
    const b = await runIngest({ rawDir: raw, dataDir: held, env, log: () => undefined });
    expect(a.summary).toEqual(b.summary);
    expect(readManifest(spilled)).toEqual(readManifest(held));
    expect(walk(spilled).filter((f) => path.relative(spilled, f).includes('.spill'))).toEqual([]);
  });
});
