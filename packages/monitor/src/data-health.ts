/** What the data itself needs someone to look at: files ingest quarantined, k-anonymity, merchant groups the reference never saw. */
import type { CategoricalProfile, IngestManifestRecord, KAnonymityRecord, NumericProfile } from '@bolsillo/schema';

/** `monitoring/report/data.json`: what the data itself needs someone to look at. */
export interface DataHealthReport {
  readonly generated_at: string;
  /** Source files ingest quarantined whole, with the reason (lake manifest). */
  readonly rejected_files: readonly { readonly file: string; readonly reason: string }[];
  /** k-anonymity per quasi-identifier set of the last ingest that parsed files (lake manifest); null before one. */
  readonly k_anonymity: KAnonymityRecord | null;
  /** Merchant groups absent from the reference master table: in the window's rows and in served predictions. */
  readonly unseen_merchant_groups: {
    readonly window: Readonly<Record<string, number>>;
    readonly served: Readonly<Record<string, number>>;
  };
  /** One line per problem; empty when there is none. */
  readonly warnings: readonly string[];
}

/** The categories a profile column saw; null when the column is not categorical (or absent). */
export function seenGroupsOf(column: NumericProfile | CategoricalProfile | undefined): ReadonlySet<string> | null {
  return column && column.kind === 'categorical' ? new Set(Object.keys(column.frequencies)) : null;
}

function countUnseen(values: Iterable<unknown>, seen: ReadonlySet<string> | null): Record<string, number> {
  const out: Record<string, number> = {};
  if (!seen) return out;
  for (const v of values) if (typeof v === 'string' && !seen.has(v)) out[v] = (out[v] ?? 0) + 1;
  return out;
}

/** The data-health report (pure over what was read): rejected files, k-anonymity, unseen merchant groups. */
export function dataHealth(
  ts: string,
  lakeManifest: Pick<IngestManifestRecord, 'rejected' | 'k_anonymity'> | null,
  seenGroups: ReadonlySet<string> | null,
  windowGroups: Iterable<unknown>,
  servedGroups: Iterable<unknown>,
): DataHealthReport {
  const rejected = Object.entries(lakeManifest?.rejected ?? {}).map(([file, r]) => ({ file, reason: r.reason }));
  const k = lakeManifest?.k_anonymity ?? null;
  const unseen = { window: countUnseen(windowGroups, seenGroups), served: countUnseen(servedGroups, seenGroups) };
  const warnings = [
    ...rejected.map((r) => `file ${r.file} quarantined by ingest: ${r.reason}`),
    ...(k?.sets ?? [])
      .filter((s) => !s.ok)
      .map((s) => `k-anonymity ${s.k} over (${s.quasi_identifiers.join(', ')}) is below the minimum ${k!.min_k}`),
    ...Object.entries(unseen.window).map(
      ([g, n]) => `merchant group ${g} is not in the reference master table (${n} window rows)`,
    ),
    ...Object.entries(unseen.served)
      .filter(([g]) => !(g in unseen.window))
      .map(([g, n]) => `merchant group ${g} is not in the reference master table (${n} served predictions)`),
  ];
  return { generated_at: ts, rejected_files: rejected, k_anonymity: k, unseen_merchant_groups: unseen, warnings };
}
