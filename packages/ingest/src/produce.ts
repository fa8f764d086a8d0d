import fs from 'node:fs';
import path from 'node:path';
import type { TransactionPush } from '@bolsillo/schema';
import { checkHeader, decodeBlock, parseLine, type DomainRules } from './dialect';

/** What {@link pushRecordsFromCsv} read. */
export interface CsvReplay {
  /** One push per valid row, in time order (date, then line). */
  readonly records: TransactionPush[];
  /** Rows ingest would quarantine (left out). */
  readonly rejected: number;
}

/**
 * Pure apart from reading the file: a raw MiBolsillo CSV as the transactions a live source would
 * have pushed, in time order, each with ingest's own id for that row (`<file name>#<line>`), so that
 * the next ingest of the landing folder and of the file itself counts every transaction once. Rows
 * ingest would quarantine are left out; the raw customer id goes into the push (the receiver
 * pseudonymises it, exactly as ingest does).
 */
export function pushRecordsFromCsv(file: string, rules: DomainRules): CsvReplay {
  const name = path.basename(file);
  const { text } = decodeBlock(fs.readFileSync(file), 'ascii', { file: name, firstLine: 1 });
  const lines = text.split(/\r?\n/);
  checkHeader(lines[0] ?? '', name);
  const rows: { record: TransactionPush; line: number }[] = [];
  let rejected = 0;
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const parsed = parseLine(line, name, i + 1, rules);
    if ('reason' in parsed) {
      rejected += 1;
      continue;
    }
    const { source_file: _f, source_line: _l, txn_id, ...fields } = parsed.txn;
    rows.push({ record: { txn_id, customer_id: parsed.rawId, ...fields }, line: i + 1 });
  }
  rows.sort((a, b) => (a.record.date < b.record.date ? -1 : a.record.date > b.record.date ? 1 : a.line - b.line));
  return { records: rows.map((r) => r.record), rejected };
}
