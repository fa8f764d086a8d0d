import { kAnonymityReport, type KAnonymityReport, type QuasiIdentifiers } from './parse-file';
import type { IngestManifest } from './lake';
import type { IngestParams } from './params';
import type { ColumnarParsedFile } from './parse-fast';

/** The run summary (also recorded in monitoring/runs.jsonl). */
export interface IngestSummary {
  readonly files_parsed: string[];
  readonly files_dropped: string[];
  readonly encodings: Record<string, string>;
  readonly rows_in: number;
  readonly rows_out: number;
  readonly quarantined: number;
  readonly quarantine_reasons: Record<string, number>;
  readonly duplicates: number;
  readonly null_amounts: number;
  readonly empty_merchant_city: number;
  readonly empty_merchant_country: number;
  readonly customer_keys: number;
  /** k per quasi-identifier set over the customers of the files parsed in this run, against the configured minimum. */
  readonly k_anonymity: KAnonymityReport;
  /** Files quarantined whole (wrong header, undecodable, no valid row), with the reason. */
  readonly files_rejected: { file: string; reason: string }[];
  readonly merchant_groups: Record<string, number>;
  readonly date_min: string | null;
  readonly date_max: string | null;
  readonly partitions_total: number;
  readonly content_hash: string;
}

export function summarise(
  parsed: readonly ColumnarParsedFile[],
  dropped: readonly string[],
  manifest: IngestManifest,
  k: NonNullable<IngestParams['k_anonymity']>,
): IngestSummary {
  const reasons: Record<string, number> = {};
  const groups: Record<string, number> = {};
  const customers = new Map<string, QuasiIdentifiers>();
  let dateMin: string | null = null;
  let dateMax: string | null = null;
  for (const p of parsed) {
    for (const [r, n] of Object.entries(p.reasons)) reasons[r] = (reasons[r] ?? 0) + n;
    for (const [g, n] of Object.entries(p.merchantGroups)) groups[g] = (groups[g] ?? 0) + n;
    for (const [k, q] of p.customers) customers.set(k, q);
    for (const d of p.dateCounts.keys()) {
      if (dateMin === null || d < dateMin) dateMin = d;
      if (dateMax === null || d > dateMax) dateMax = d;
    }
  }
  const sum = (f: (p: ColumnarParsedFile) => number) => parsed.reduce((s, p) => s + f(p), 0);
  return {
    files_parsed: parsed.map((p) => p.file),
    files_dropped: [...dropped],
    encodings: Object.fromEntries(parsed.map((p) => [p.file, p.encoding])),
    rows_in: sum((p) => p.rowsIn),
    rows_out: sum((p) => p.rowsOut),
    quarantined: sum((p) => p.quarantine.length),
    quarantine_reasons: reasons,
    duplicates: sum((p) => p.duplicates),
    null_amounts: sum((p) => p.nullAmounts),
    empty_merchant_city: sum((p) => p.emptyMerchantCity),
    empty_merchant_country: sum((p) => p.emptyMerchantCountry),
    customer_keys: customers.size,
    k_anonymity: kAnonymityReport([...customers.values()], k.quasi_identifier_sets, k.min_k),
    files_rejected: Object.entries(manifest.rejected ?? {}).map(([file, r]) => ({ file, reason: r.reason })),
    merchant_groups: Object.fromEntries(Object.entries(groups).sort(([, a], [, b]) => b - a)),
    date_min: dateMin,
    date_max: dateMax,
    partitions_total: Object.keys(manifest.partitions).length,
    content_hash: manifest.content_hash,
  };
}

/** Log the run's summary: a warning per k-anonymity set below the minimum, then one line of counts. */
export function logSummary(log: (message: string) => void, summary: IngestSummary, partitionsWritten: number): void {
  for (const s of summary.k_anonymity.sets.filter((x) => !x.ok)) {
    log(
      `WARNING: k-anonymity ${s.k} over (${s.quasi_identifiers.join(', ')}) is below the minimum ${summary.k_anonymity.min_k}: ` +
        `${s.customers_below} of ${s.customers} customers are in ${s.groups_below} group(s) smaller than ${summary.k_anonymity.min_k}`,
    );
  }
  log(
    `rows in ${summary.rows_in}, out ${summary.rows_out}, quarantined ${summary.quarantined} ${JSON.stringify(summary.quarantine_reasons)}, ` +
      `customers ${summary.customer_keys}, k-anonymity ${summary.k_anonymity.sets.map((s) => `${s.k} (${s.quasi_identifiers.join('+')})`).join(', ')}, files rejected ${summary.files_rejected.length}, duplicates ${summary.duplicates}, null amounts ${summary.null_amounts}, ` +
      `dates ${summary.date_min}..${summary.date_max}, partitions written ${partitionsWritten}`,
  );
}
