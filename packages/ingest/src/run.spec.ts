import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, readParquetFile, rowsFromTable } from '@bolsillo/core';
import { RAW_COLUMNS } from '@bolsillo/schema';
import { ingest, readLake, readManifest, tmpDir, walk, writeGenerated, TEST_SECRET } from './ingest.test-util';
import { DEFAULT_PARAMS_FILE } from './params';
import { runIngest } from './run';

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
    expect(
      lake.filter((r) => r.source_file === 'day2.csv').every((r) => r.date >= '2020-01-06' && r.date <= '2020-01-07'),
    ).toBe(true);
    expect(lake.filter((r) => r.source_file === 'day2.csv')).toHaveLength(
      readManifest(data).files['day2.csv']!.rows_out,
    );

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
    const good = fs
      .readFileSync(
        writeGenerated(raw, 'mixed.csv', { rows: 60, seed: 4, start: '2020-02-01', end: '2020-02-03' }),
        'latin1',
      )
      .split('\r\n');
    const row = good[1]!.split(';');
    const bad = (i: number, v: string) => row.map((f, k) => (k === i ? v : f)).join(';');
    const injected = [
      good[2]!,
      bad(4, '250'),
      bad(8, '30.02.2020'),
      bad(9, '12,,5'),
      bad(3, 'ZZ '),
      row.slice(0, 5).join(';'),
    ];
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
    [
      'wrong header',
      Buffer.from(`${RAW_COLUMNS.join(';').replace(' valor ', 'valor')}\r\n1;2\r\n`),
      /bad\.csv: wrong header: missing columns " valor "; unexpected columns "valor"/,
    ],
    ['empty file', Buffer.alloc(0), /bad\.csv: empty file/],
    ['header only', Buffer.from(`${RAW_COLUMNS.join(';')}\r\n`), /bad\.csv: no valid rows/],
    [
      'binary garbage',
      Buffer.concat([Buffer.from(`${RAW_COLUMNS.join(';')}\r\n`), Buffer.from([0x00, 0xff, 0xfe, 0x13, 0x0a, 0x9c])]),
      /bad\.csv: undecodable bytes at line 2/,
    ],
  ])(
    'on %s: quarantines the bad file with its reason and ingests the good one; with bad_file_policy "fail" stops and writes nothing',
    async (_label, bytes, message) => {
      const raw = tmpDir('raw');
      const data = tmpDir('data');
      writeGenerated(raw, 'good.csv', { rows: 30, seed: 5, start: '2020-03-01', end: '2020-03-02' });
      fs.writeFileSync(path.join(raw, 'bad.csv'), bytes);
      const failing = path.join(tmpDir('params'), 'params.json');
      fs.writeFileSync(
        failing,
        JSON.stringify({ ...JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')), bad_file_policy: 'fail' }),
      );
      const strict = tmpDir('strict');
      await expect(
        runIngest({
          rawDir: raw,
          dataDir: strict,
          paramsFile: failing,
          env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
          log: () => undefined,
        }),
      ).rejects.toThrow(message);
      expect(walk(strict)).toEqual([]);

      const logs: string[] = [];
      const result = await runIngest({
        rawDir: raw,
        dataDir: data,
        env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
        log: (m) => logs.push(m),
      });
      expect(result.summary).toMatchObject({
        files_parsed: ['good.csv'],
        files_rejected: [{ file: 'bad.csv', reason: expect.stringMatching(message) }],
      });
      expect(readLake(data)).toHaveLength(result.rowsOut);
      expect(new Set(readLake(data).map((r) => r.source_file))).toEqual(new Set(['good.csv']));
      expect(logs.some((l) => /WARNING: bad\.csv quarantined/.test(l))).toBe(true);
      const record = JSON.parse(
        fs.readFileSync(path.join(dataLayout(data).quarantine, 'bad.csv.rejected.json'), 'utf8'),
      ) as { reason: string };
      expect(record.reason).toMatch(message);
      expect(readManifest(data).rejected).toEqual({
        'bad.csv': { sha256: expect.any(String), reason: expect.stringMatching(message) },
      });
      // Unchanged, it stays quarantined and named; fixed, it is ingested and leaves the quarantine.
      const again = await ingest(raw, data);
      expect(again.summary).toMatchObject({ files_unchanged: 2, files_rejected: [{ file: 'bad.csv' }] });
      writeGenerated(raw, 'bad.csv', { rows: 20, seed: 9, start: '2020-03-03', end: '2020-03-03' });
      const fixed = await ingest(raw, data);
      expect(fixed.summary).toMatchObject({ files_parsed: ['bad.csv'], files_rejected: [] });
      expect(fs.existsSync(path.join(dataLayout(data).quarantine, 'bad.csv.rejected.json'))).toBe(false);
      expect(readManifest(data).rejected).toBeUndefined();
    },
  );

  it('records a fingerprint of the secret and refuses an incremental run under another secret, naming --backfill', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    writeGenerated(raw, 'day1.csv', { rows: 200, seed: 1, start: '2020-01-01', end: '2020-01-05' });
    await ingest(raw, data);
    const manifest = readManifest(data);
    expect(manifest.secret_fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(manifest).includes(TEST_SECRET)).toBe(false);
    const keys = new Set(readLake(data).map((r) => r.customer_key));
    writeGenerated(raw, 'day2.csv', { rows: 200, seed: 1, start: '2020-01-06', end: '2020-01-09' });
    // No secret (the development default) and another secret are both refused; the lake is untouched.
    for (const env of [{}, { BOLSILLO_PSEUDONYM_SECRET: 'another-secret' }]) {
      await expect(runIngest({ rawDir: raw, dataDir: data, env, log: () => undefined })).rejects.toThrow(
        /BOLSILLO_PSEUDONYM_SECRET differs .*--backfill/,
      );
    }
    expect(readManifest(data)).toEqual(manifest);
    // The same secret: the first file's customers keep their keys.
    await ingest(raw, data);
    expect(
      new Set(
        readLake(data)
          .filter((r) => r.source_file === 'day1.csv')
          .map((r) => r.customer_key),
      ),
    ).toEqual(keys);
    // Rotation by backfill: every key changes, none is shared between the two secrets.
    await runIngest({
      rawDir: raw,
      dataDir: data,
      backfill: true,
      env: { BOLSILLO_PSEUDONYM_SECRET: 'another-secret' },
      log: () => undefined,
    });
    const rotated = new Set(
      readLake(data)
        .filter((r) => r.source_file === 'day1.csv')
        .map((r) => r.customer_key),
    );
    expect(rotated.size).toBe(keys.size);
    expect([...rotated].some((k) => keys.has(k))).toBe(false);
    expect(readManifest(data).secret_fingerprint).not.toBe(manifest.secret_fingerprint);
  });

  it('reports k-anonymity per quasi-identifier set against the configured minimum, with a warning below it', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    writeGenerated(raw, 'k.csv', { rows: 300, seed: 12, start: '2020-01-01', end: '2020-01-05' });
    const logs: string[] = [];
    const result = await runIngest({
      rawDir: raw,
      dataDir: data,
      env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
      log: (m) => logs.push(m),
    });
    const k = (
      result.summary as {
        k_anonymity: {
          min_k: number;
          ok: boolean;
          sets: { quasi_identifiers: string[]; k: number; ok: boolean; customers_below: number }[];
        };
      }
    ).k_anonymity;
    const params = JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')) as {
      k_anonymity: { min_k: number; quasi_identifier_sets: string[][] };
    };
    expect(k.min_k).toBe(params.k_anonymity.min_k);
    expect(k.sets.map((s) => s.quasi_identifiers)).toEqual(params.k_anonymity.quasi_identifier_sets);
    // Every identity attribute together singles customers out in a small drop: below the minimum, and said so.
    const full = k.sets[0]!;
    expect(full.k).toBeLessThan(k.min_k);
    expect(full.ok).toBe(false);
    expect(full.customers_below).toBeGreaterThan(0);
    expect(k.ok).toBe(false);
    expect(
      logs.some(
        (l) =>
          l.startsWith('WARNING: k-anonymity') &&
          l.includes('(age, sex, city, state)') &&
          l.includes(`minimum ${k.min_k}`),
      ),
    ).toBe(true);
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
    const q = JSON.parse(fs.readFileSync(path.join(dataLayout(data).quarantine, 'cut.csv.jsonl'), 'utf8').trim()) as {
      source_line: number;
      reason: string;
    };
    expect(q.source_line).toBe(41);
  });

  it('leaves no raw id and not the secret in any byte of the outputs, compressed or decoded', async () => {
    const raw = tmpDir('raw');
    const data = tmpDir('data');
    const csv = fs.readFileSync(
      writeGenerated(raw, 'ids.csv', { rows: 2000, seed: 8, start: '2020-01-01', end: '2020-01-15' }),
      'latin1',
    );
    // One bad row so the quarantine is an output too.
    fs.appendFileSync(
      path.join(raw, 'ids.csv'),
      Buffer.from(`${csv.split('\r\n')[1]!.replace(/;\d+;[FM];/, ';5;F;')}\r\n`, 'latin1'),
    );
    const result = await ingest(raw, data);
    expect(result.summary).toMatchObject({ quarantined: 1 });
    const ids = [
      ...new Set(
        csv
          .split('\r\n')
          .slice(1)
          .filter(Boolean)
          .map((l) => l.split(';')[0]!),
      ),
    ];
    expect(ids.length).toBeGreaterThan(5);
    const files = walk(data);
    expect(files.some((f) => f.includes('quarantine'))).toBe(true);
    const haystacks = files.map((f) => fs.readFileSync(f).toString('latin1'));
    for (const f of files.filter((x) => x.endsWith('.parquet')))
      haystacks.push(JSON.stringify(rowsFromTable(readParquetFile(f))));
    haystacks.push(JSON.stringify(result.summary));
    for (const h of haystacks) {
      expect(h.includes(TEST_SECRET)).toBe(false);
      for (const id of ids) expect(h.includes(id)).toBe(false);
    }
  });
});

describe('bounded memory', () => {
  it.each([
    ['one pass', { spill_rows: 70, parse_workers: 0 }],
    ['byte ranges on a worker thread', { spill_rows: 250, parse_workers: 1, chunk_bytes: 4096 }],
  ])('spilling buffered rows to disk (%s) gives the same lake as holding them in memory', async (how, tuning) => {
    const raw = tmpDir('raw');
    writeGenerated(raw, 'spill.csv', { rows: 1200, seed: 31, start: '2020-01-01', end: '2020-01-06' });
    const params = path.join(tmpDir('params'), 'params.json');
    fs.writeFileSync(
      params,
      JSON.stringify({ ...JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')), ...tuning }),
    );
    const spilled = tmpDir('spilled');
    const held = tmpDir('held');
    const env = { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET };
    const lines: string[] = [];
    const a = await runIngest({ rawDir: raw, dataDir: spilled, paramsFile: params, env, log: (m) => lines.push(m) });
    const b = await runIngest({ rawDir: raw, dataDir: held, env, log: () => undefined });
    expect(lines.some((m) => / ranges, 2 threads\)/.test(m))).toBe(how !== 'one pass');
    expect(a.summary).toEqual(b.summary);
    expect(readManifest(spilled)).toEqual(readManifest(held));
    expect(walk(spilled).filter((f) => path.relative(spilled, f).includes('.spill'))).toEqual([]);
    // A new file then merges with existing partitions and its own spilled rows: still the same lake.
    writeGenerated(raw, 'spill2.csv', { rows: 600, seed: 32, start: '2020-01-04', end: '2020-01-08' });
    await runIngest({ rawDir: raw, dataDir: spilled, paramsFile: params, env, log: () => undefined });
    await runIngest({ rawDir: raw, dataDir: held, env, log: () => undefined });
    expect(readManifest(spilled)).toEqual(readManifest(held));
  });
});
