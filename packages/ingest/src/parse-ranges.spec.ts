import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { generate } from '@bolsillo/core';
import { bucketColumns } from './lake';
import { parseFileColumnar, type ColumnarParsedFile } from './parse-fast';
import { parseFileParallel, splitRanges } from './parse-ranges';
import { startIngestWorkers } from './ingest-workers';
import { readManifest, tmpDir, writeGenerated, TEST_SECRET } from './ingest.test-util';
import { DEFAULT_PARAMS_FILE } from './params';
import { runIngest } from './run';

const PARAMS = { secret: TEST_SECRET, minAge: 16, maxAge: 110 };

// Everything a parse result says, rows included (txn_id derived per row), in its own order.
function contents(p: ColumnarParsedFile) {
  const rows: unknown[][] = [];
  for (const [date, b] of [...p.buckets].flatMap(([d, parts]) => parts.map((part) => [d, part] as const))) {
    const c = bucketColumns(b, p, date);
    for (let i = 0; i < b.length; i++) rows.push(Object.keys(c).map((k) => c[k]![i]));
  }
  return {
    stats: {
      encoding: p.encoding,
      bytes: p.bytes,
      rowsIn: p.rowsIn,
      rowsOut: p.rowsOut,
      duplicates: p.duplicates,
      nullAmounts: p.nullAmounts,
      emptyMerchantCity: p.emptyMerchantCity,
      emptyMerchantCountry: p.emptyMerchantCountry,
      reasons: Object.entries(p.reasons),
      quarantine: p.quarantine,
      dateCounts: [...p.dateCounts],
      customers: [...p.customers],
      merchantGroups: Object.entries(p.merchantGroups),
      dates: [...p.buckets.keys()],
    },
    rows,
  };
}

// A generated file with quirks: rejected rows, duplicates far apart (other ranges), an empty line, CRLF and
// LF line ends, and no line break after the last line.
function quirkyFile(): Buffer {
  const lines = generate({ rows: 2500, seed: 17, start: '2020-02-01', end: '2020-02-20' })
    .toString('latin1')
    .split('\r\n');
  const edit = (i: number, k: number, v: string) => {
    const row = lines[i]!.split(';');
    row[k] = v;
    lines[i] = row.join(';');
  };
  edit(3, 9, '-3,5');
  edit(400, 8, '31.02.2020');
  edit(900, 3, 'XX');
  edit(1500, 0, '');
  edit(2100, 10, '  auto   pe\u0082as ');
  lines[1200] = `${lines[1200]};extra`;
  lines[1800] = '';
  lines[2400] = lines[10]!;
  lines[2401] = lines[1300]!;
  return Buffer.from(
    lines
      .filter((l, i) => l !== '' || i < lines.length - 1)
      .join('\n')
      .replace(/\n$/, ''),
    'latin1',
  );
}

describe('parseFileParallel (byte ranges on worker threads) against the one-pass parseFileColumnar', () => {
  let workers: Worker[] = [];
  beforeAll(() => {
    workers = startIngestWorkers(1);
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.terminate()));
  });

  async function expectSame(bytes: Buffer, ranges: number): Promise<ColumnarParsedFile> {
    const file = path.join(tmpDir('ranges'), 'f.csv');
    fs.writeFileSync(file, bytes);
    const one = await parseFileColumnar('f.csv', [bytes], PARAMS);
    const many = await parseFileParallel(file, 'f.csv', PARAMS, { workers, ranges, chunkBytes: 4096, maxRows: 1e9 });
    expect(many).not.toBeNull();
    expect(contents(many!)).toEqual(contents(one));
    return many!;
  }

  it('gives exactly the one-pass result, single-byte and UTF-8, for any number of ranges', async () => {
    const singleByte = quirkyFile();
    const utf8 = Buffer.from(singleByte.toString('latin1').replace(/\u0082/g, 'Ç'), 'utf8');
    for (const ranges of [2, 7, 64]) {
      const p = await expectSame(singleByte, ranges);
      expect(p.encoding).toBe('mibolsillo-single-byte');
      expect(p.duplicates).toBeGreaterThanOrEqual(2);
      expect(p.quarantine.length).toBeGreaterThanOrEqual(5);
      expect((await expectSame(utf8, ranges)).encoding).toBe('utf-8');
    }
  });

  it('cuts only after a line break, also when a split point falls inside a multi-byte character', () => {
    const utf8 = Buffer.from(
      quirkyFile()
        .toString('latin1')
        .replace(/\u0082/g, 'Ç'),
      'utf8',
    );
    const file = path.join(tmpDir('cuts'), 'f.csv');
    fs.writeFileSync(file, utf8);
    const count = 997;
    // Some split point lands on the second byte of a "Ç" (0xC3 0x87): the case a byte-range split must handle.
    const points = Array.from({ length: count - 1 }, (_, k) => Math.floor(((k + 1) * utf8.length) / count));
    expect(points.some((p) => utf8[p] === 0x87 && utf8[p - 1] === 0xc3)).toBe(true);
    const fd = fs.openSync(file, 'r');
    const ranges = splitRanges(fd, utf8.length, count);
    fs.closeSync(fd);
    expect(ranges[0]!.start).toBe(0);
    expect(ranges[ranges.length - 1]!.end).toBe(utf8.length);
    for (let i = 1; i < ranges.length; i++) {
      expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
      expect(utf8[ranges[i]!.start - 1]).toBe(0x0a);
    }
  });

  it('leaves to the one-pass parse what ranges cannot settle: bad bytes, mixed encodings, too many rows', async () => {
    const good = quirkyFile();
    const dir = tmpDir('fallback');
    const at = good.length - 2000;
    const cases: [string, Buffer, number][] = [
      ['garbage', Buffer.concat([good.subarray(0, at), Buffer.from([0x00, 0xff, 0x01]), good.subarray(at)]), 1e9],
      ['mixed', Buffer.concat([good.subarray(0, at), Buffer.from('Ç', 'utf8'), good.subarray(at)]), 1e9],
      ['rows', good, 100],
    ];
    for (const [name, bytes, maxRows] of cases) {
      const file = path.join(dir, `${name}.csv`);
      fs.writeFileSync(file, bytes);
      expect(
        await parseFileParallel(file, `${name}.csv`, PARAMS, { workers, ranges: 5, chunkBytes: 4096, maxRows }),
      ).toBeNull();
    }
    await expect(
      parseFileColumnar('garbage.csv', [fs.readFileSync(path.join(dir, 'garbage.csv'))], PARAMS),
    ).rejects.toThrow(/garbage\.csv: undecodable/);
    await expect(
      parseFileColumnar('mixed.csv', [fs.readFileSync(path.join(dir, 'mixed.csv'))], PARAMS),
    ).rejects.toThrow(/mixed\.csv: undecodable/);
  });

  it('names the line of a bad byte in a late block of a single-byte file (checked in the line loop)', async () => {
    const good = quirkyFile();
    const at = good.length - 2000;
    const line = good.subarray(0, at).toString('latin1').split('\n').length;
    const blocks = (b: Buffer) =>
      Array.from({ length: Math.ceil(b.length / 4096) }, (_, i) => b.subarray(i * 4096, (i + 1) * 4096));
    for (const [bad, what] of [
      [[0x01], 'control byte 0x01'],
      [[0xff], 'byte 0xff is neither UTF-8 nor the source code page'],
    ] as const) {
      const bytes = Buffer.concat([good.subarray(0, at), Buffer.from(bad), good.subarray(at)]);
      await expect(parseFileColumnar('late.csv', blocks(bytes), PARAMS)).rejects.toThrow(
        `late.csv: undecodable bytes at line ${line} (${what})`,
      );
    }
  });

  it('writes the same lake (manifest and partition hashes) with and without parse workers', async () => {
    const raw = tmpDir('par-raw');
    writeGenerated(raw, 'a.csv', { rows: 6000, seed: 5, start: '2020-01-01', end: '2020-01-20' });
    writeGenerated(raw, 'b.csv', { rows: 500, seed: 6, start: '2020-01-15', end: '2020-01-25' });
    const base = JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')) as Record<string, unknown>;
    const manifests = [];
    const logs: string[] = [];
    for (const parseWorkers of [0, 1]) {
      const params = path.join(tmpDir('par-params'), 'params.json');
      // Small reads so that the 600 kB file is split into ranges.
      fs.writeFileSync(params, JSON.stringify({ ...base, chunk_bytes: 4096, parse_workers: parseWorkers }));
      const data = tmpDir(`par-data-${parseWorkers}`);
      await runIngest({
        rawDir: raw,
        dataDir: data,
        paramsFile: params,
        env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
        log: (m) => logs.push(m),
      });
      manifests.push(readManifest(data));
    }
    expect(logs.some((m) => /a\.csv.*\(8 ranges, 2 threads\)/.test(m))).toBe(true);
    expect(Object.keys(manifests[0]!.partitions)).toHaveLength(25);
    expect(manifests[1]).toEqual(manifests[0]);
  });
});
