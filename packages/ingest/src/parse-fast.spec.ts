import fs from 'node:fs';
import path from 'node:path';
import { generate } from '@bolsillo/core';
import { bucketColumns } from './lake';
import { parseFile, type ParsedFile } from './parse-file';
import { parseFileColumnar, readChunks, type ColumnarParsedFile } from './parse-fast';
import { readManifest, tmpDir, writeGenerated, TEST_SECRET } from './ingest.test-util';
import { DEFAULT_PARAMS_FILE } from './params';
import { runIngest } from './run';
import { itRealData, realDataPath } from '@bolsillo/testing';

const PARAMS = { secret: TEST_SECRET, minAge: 16, maxAge: 110 };

function* chunked(bytes: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

// Every valid row as one comparable tuple, date by date in bucket order.
function referenceRows(p: ParsedFile): unknown[][] {
  const rows: unknown[][] = [];
  for (const [date, b] of p.buckets) {
    for (let i = 0; i < b.source_line.length; i++) {
      rows.push([
        date,
        b.source_line[i],
        b.customer_key[i],
        b.account_cohort[i],
        b.city[i],
        b.state[i],
        b.age[i],
        b.sex[i],
        b.credit_limit[i],
        b.available_limit[i],
        b.amount[i],
        b.merchant_group[i],
        b.merchant_city[i],
        b.merchant_country[i],
      ]);
    }
  }
  return rows;
}
function columnarRows(p: ColumnarParsedFile): unknown[][] {
  const rows: unknown[][] = [];
  for (const [date, b] of [...p.buckets].flatMap(([d, parts]) => parts.map((part) => [d, part] as const))) {
    const c = bucketColumns(b, p, date);
    for (let i = 0; i < b.length; i++) {
      rows.push([
        c.date![i],
        c.source_line![i],
        c.customer_key![i],
        c.account_cohort![i],
        c.city![i],
        c.state![i],
        c.age![i],
        c.sex![i],
        c.credit_limit![i],
        c.available_limit![i],
        c.amount![i],
        c.merchant_group![i],
        c.merchant_city![i],
        c.merchant_country![i],
      ]);
      expect(c.txn_id![i]).toBe(`${p.file}#${b.source_line[i]!}`);
    }
  }
  return rows;
}

async function expectSameAsReference(bytes: Uint8Array, chunk: number): Promise<ColumnarParsedFile> {
  const ref = await parseFile('f.csv', chunked(bytes, chunk), PARAMS);
  const fast = await parseFileColumnar('f.csv', chunked(bytes, chunk), PARAMS);
  const stats = (p: ParsedFile | ColumnarParsedFile) => ({
    encoding: p.encoding,
    bytes: p.bytes,
    rowsIn: p.rowsIn,
    rowsOut: p.rowsOut,
    duplicates: p.duplicates,
    nullAmounts: p.nullAmounts,
    emptyMerchantCity: p.emptyMerchantCity,
    emptyMerchantCountry: p.emptyMerchantCountry,
    reasons: p.reasons,
    quarantine: p.quarantine,
    dateCounts: [...p.dateCounts],
    customers: [...p.customers].sort(([a], [b]) => (a < b ? -1 : 1)),
    merchantGroups: Object.entries(p.merchantGroups),
  });
  expect(stats(fast)).toEqual(stats(ref));
  expect(columnarRows(fast)).toEqual(referenceRows(ref));
  return fast;
}

describe('parseFileColumnar (byte-level parser) against the string reference parseFile', () => {
  it('gives the same rows, values, rejections and counts on quirky input, whatever the chunk size', async () => {
    const lines = generate({ rows: 400, seed: 41, start: '2020-03-01', end: '2020-03-09' })
      .toString('latin1')
      .split('\r\n');
    const f = (i: number) => lines[i]!.split(';');
    const edit = (i: number, k: number, v: string) => {
      const row = f(i);
      row[k] = v;
      lines[i] = row.join(';');
    };
    // Amounts: grouped thousands, many digits (string path), negative zero, negative, malformed, the marker, padding.
    [
      '1.784,13',
      ' 12.345.678,91 ',
      '123456789012345678,5',
      '-0',
      '-3,5',
      '1.23,4',
      '1,',
      ',5',
      ' -   ',
      '',
      '007,10',
      '0,1',
      '99999999999999,99',
    ].forEach((v, j) => edit(2 + j, 9, v));
    // Limits and identities: padded, leading zeros, out of range, lower-case state/sex, odd spacing in a city.
    edit(20, 6, ' 0042 ');
    edit(21, 7, '2147483648');
    edit(22, 3, 'sp ');
    edit(23, 5, 'm');
    edit(24, 2, '  SAO   PAULO  ');
    edit(25, 4, '15');
    edit(26, 1, '201413');
    edit(27, 0, '');
    edit(28, 8, '31.02.2020');
    edit(29, 8, ' 1.3.2020 ');
    edit(30, 10, '  auto   pe\u0082as ');
    edit(31, 10, '  ');
    edit(32, 11, ' ');
    edit(33, 12, '\t');
    edit(34, 8, '001.03.2020');
    lines[35] = `${lines[35]};extra`;
    lines[36] = '';
    lines[37] = lines[38]!; // an exact duplicate
    lines[39] = `${lines[39]}\r`; // a stray CR before the line break
    const text = lines.join('\n');
    const singleByte = Buffer.from(text.replace(/\r?\n$/, ''), 'latin1'); // the last line without a line break
    for (const chunk of [64, 997, 1 << 20]) await expectSameAsReference(singleByte, chunk);
    const utf8 = Buffer.from(singleByte.toString('latin1').replace(/\u0082/g, 'Ç'), 'utf8');
    const fast = await expectSameAsReference(utf8, 113);
    expect(fast.encoding).toBe('utf-8');
    expect(Object.keys(fast.reasons).length).toBeGreaterThanOrEqual(8);
    // From a file through one reused read buffer (readChunks): lines cut across chunks, a chunk inside a line.
    for (const bytes of [singleByte, utf8]) {
      const file = path.join(tmpDir('read-chunks'), 'f.csv');
      fs.writeFileSync(file, bytes);
      for (const chunk of [64, 997]) {
        const fromFile = await parseFileColumnar('f.csv', readChunks(file, chunk), PARAMS);
        const whole = await parseFileColumnar('f.csv', [bytes], PARAMS);
        expect(columnarRows(fromFile)).toEqual(columnarRows(whole));
        expect([fromFile.rowsIn, fromFile.quarantine, fromFile.duplicates]).toEqual([
          whole.rowsIn,
          whole.quarantine,
          whole.duplicates,
        ]);
      }
    }
  });

  itRealData('gives the same result on the real file and its UTF-8 copy', async () => {
    const bytes = fs.readFileSync(realDataPath());
    await expectSameAsReference(bytes, 4096);
    await expectSameAsReference(Buffer.from(bytes.toString('latin1').replace(/\u0082/g, 'Ç'), 'utf8'), 4096);
  });
});

describe('Parquet encoding on a worker thread', () => {
  it('writes byte-identical partitions with and without the worker', async () => {
    const raw = tmpDir('pool-raw');
    writeGenerated(raw, 'a.csv', { rows: 3000, seed: 5, start: '2020-01-01', end: '2020-01-20' });
    writeGenerated(raw, 'b.csv', { rows: 1000, seed: 6, start: '2020-01-15', end: '2020-01-25' });
    // Two large partitions: tables above the size the main thread encodes itself wait for the worker.
    writeGenerated(raw, 'c.csv', { rows: 20000, seed: 7, start: '2020-01-26', end: '2020-01-27' });
    const base = JSON.parse(fs.readFileSync(DEFAULT_PARAMS_FILE, 'utf8')) as Record<string, unknown>;
    const manifests = [];
    for (const workers of [0, 1]) {
      const params = path.join(tmpDir('pool-params'), 'params.json');
      fs.writeFileSync(params, JSON.stringify({ ...base, parquet_workers: workers }));
      const data = tmpDir(`pool-data-${workers}`);
      await runIngest({
        rawDir: raw,
        dataDir: data,
        paramsFile: params,
        env: { BOLSILLO_PSEUDONYM_SECRET: TEST_SECRET },
        log: () => undefined,
      });
      manifests.push(readManifest(data));
    }
    expect(Object.keys(manifests[0]!.partitions)).toHaveLength(27);
    expect(Math.max(...Object.values(manifests[0]!.partitions).map((p) => p.rows))).toBeGreaterThan(8192);
    expect(manifests[1]).toEqual(manifests[0]);
  });
});
