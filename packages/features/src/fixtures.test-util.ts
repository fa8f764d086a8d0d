import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  dataLayout,
  isoFromEpochDay,
  epochDay,
  partitionDir,
  seededRandom,
  sha256,
  tableFromRows,
  writeParquetFile,
} from '@bolsillo/core';
import { TransactionSchema, arrowSchemaFor, type Transaction } from '@bolsillo/schema';

const GROUPS = ['SERVIÇO', 'SUPERMERCADOS', 'FARMACIAS', 'VESTUARIO', 'M.O.T.O.', 'ARTIGOS ELETRO', 'HOSP E CLINICA'];
const CITIES = ['SAO PAULO', 'SANTOS', 'OSASCO', 'CAMPINAS'];

/** Small synthetic transactions: several customers, same-day repeats, missing amounts and places. */
export function syntheticTransactions(n: number, seed = 7, customers = 5, days = 90): Transaction[] {
  const rnd = seededRandom(seed);
  const start = epochDay('2019-04-01');
  const out: Transaction[] = [];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rnd() * customers);
    const limit = 1000 + c * 500;
    out.push({
      txn_id: `synthetic.csv#${i + 2}`,
      customer_key: sha256(`customer-${c}`),
      account_cohort: `20${14 + (c % 5)}0${1 + (c % 9)}`,
      city: CITIES[c % CITIES.length]!,
      state: 'SP',
      age: 25 + c,
      sex: c % 2 === 0 ? 'F' : 'M',
      credit_limit: c === customers - 1 ? 0 : limit,
      available_limit: Math.floor(rnd() * limit * 1.2),
      date: isoFromEpochDay(start + Math.floor(rnd() * days)),
      amount: rnd() < 0.05 ? null : Math.round(rnd() * 50000) / 100,
      merchant_group: GROUPS[Math.floor(rnd() * GROUPS.length)]!,
      merchant_city: rnd() < 0.05 ? null : CITIES[Math.floor(rnd() * CITIES.length)]!,
      merchant_country: rnd() < 0.05 ? null : rnd() < 0.1 ? 'US' : 'BR',
      source_file: 'synthetic.csv',
      source_line: i + 2,
    });
  }
  return out;
}

/** Write transactions as a lake (one `date=YYYY-MM-DD/part-0.parquet` per date, rows in the given order). */
export function writeLake(dataDir: string, txns: readonly Transaction[]): void {
  const lake = dataLayout(dataDir).lake;
  const byDate = new Map<string, Transaction[]>();
  for (const t of txns) byDate.set(t.date, [...(byDate.get(t.date) ?? []), t]);
  const schema = arrowSchemaFor(TransactionSchema);
  for (const [date, rows] of byDate)
    writeParquetFile(path.join(partitionDir(lake, date), 'part-0.parquet'), tableFromRows(schema, rows));
}

/** A fresh temporary data folder. */
export function tempDataDir(label: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `features-${label}-`));
}
