import fs from 'node:fs';
import path from 'node:path';
import { ingest, readLake, readManifest, tmpDir } from './ingest.test-util';
import { itRealData, realDataPath } from '@bolsillo/testing';

/** The must-show numbers, computed from what is in the lake (not from the summary alone). */
function lakeFacts(dataDir: string) {
  const rows = readLake(dataDir);
  const dates = rows.map((r) => r.date).sort();
  return {
    rows: rows.length,
    customers: new Set(rows.map((r) => r.customer_key)).size,
    servico: rows.filter((r) => r.merchant_group === 'SERVIÇO').length,
    autoPecas: rows.filter((r) => r.merchant_group === 'AUTO PEÇAS').length,
    nullAmounts: rows.filter((r) => r.amount === null).length,
    first: dates[0],
    last: dates[dates.length - 1],
  };
}

describe('ingest on the real MiBolsillo file', () => {
  itRealData('gives the must-show numbers, and the same from a UTF-8 re-encoded copy', async () => {
    const raw = tmpDir('real-raw');
    fs.copyFileSync(realDataPath(), path.join(raw, 'MiBolsillo.csv'));
    const data = tmpDir('real-data');
    const result = await ingest(raw, data);
    const expected = {
      rows: 4955,
      customers: 29,
      servico: 1782,
      autoPecas: 14,
      nullAmounts: 13,
      first: '2019-04-01',
      last: '2020-05-07',
    };
    expect(result.rowsIn).toBe(4955);
    expect(result.rowsOut).toBe(4955);
    expect(result.summary).toMatchObject({
      quarantined: 0,
      duplicates: 9,
      null_amounts: 13,
      empty_merchant_city: 19,
      empty_merchant_country: 18,
      customer_keys: 29,
      date_min: '2019-04-01',
      date_max: '2020-05-07',
      encodings: { 'MiBolsillo.csv': 'mibolsillo-single-byte' },
    });
    expect(lakeFacts(data)).toEqual(expected);

    // The same data re-encoded as UTF-8 (Ç as two bytes), under the same file name.
    const utfRaw = tmpDir('real-utf8-raw');
    const text = fs.readFileSync(realDataPath()).toString('latin1').replace(/\x82/g, 'Ç');
    fs.writeFileSync(path.join(utfRaw, 'MiBolsillo.csv'), Buffer.from(text, 'utf8'));
    const utfData = tmpDir('real-utf8-data');
    const utf = await ingest(utfRaw, utfData);
    expect(utf.summary).toMatchObject({
      encodings: { 'MiBolsillo.csv': 'utf-8' },
      quarantined: 0,
      duplicates: 9,
      customer_keys: 29,
    });
    expect(lakeFacts(utfData)).toEqual(expected);
    expect(readManifest(utfData).content_hash).toBe(readManifest(data).content_hash);
  });
});
