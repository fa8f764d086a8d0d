import fs from 'node:fs';
import path from 'node:path';
import { canonicalJson, sha256, writeFileAtomic, writeJsonAtomic } from '@bolsillo/core';
import type { IngestRunPlan, RejectedFile } from './ingest-plan';
import type { IngestManifest, ManifestFile } from './lake';
import type { ColumnarParsedFile } from './parse-fast';
import type { KAnonymityReport } from './parse-file';
import type { PartitionEntry } from './write-partitions';

/** What a run produced, for the next manifest. */
export interface IngestOutcome {
  readonly plan: IngestRunPlan;
  readonly previous: IngestManifest;
  readonly parsed: readonly ColumnarParsedFile[];
  readonly partitions: Readonly<Record<string, PartitionEntry>>;
  /** Files rejected whole: earlier rejections still standing and this run's. */
  readonly rejected: Readonly<Record<string, RejectedFile>>;
  readonly secretFingerprint: string;
}

/**
 * The manifest after a run: unchanged files as they were, parsed files with their counts, every
 * partition, keys sorted; the content hash is over the partitions (same inputs → same hash).
 */
export function nextManifest(outcome: IngestOutcome): IngestManifest {
  const { plan, previous, parsed, rejected } = outcome;
  const files: Record<string, ManifestFile> = {};
  for (const f of plan.unchanged) files[f] = previous.files[f]!;
  for (const p of parsed) {
    files[p.file] = {
      sha256: plan.hashes[p.file]!,
      bytes: p.bytes,
      encoding: p.encoding,
      rows_in: p.rowsIn,
      rows_out: p.rowsOut,
      quarantined: p.quarantine.length,
      duplicates: p.duplicates,
      partitions: Object.fromEntries([...p.dateCounts.entries()].sort(([a], [b]) => (a < b ? -1 : 1))),
    };
  }
  const partitions = sortedByKey(outcome.partitions);
  return {
    version: 1,
    files: sortedByKey(files),
    partitions,
    content_hash: sha256(canonicalJson(partitions)),
    secret_fingerprint: outcome.secretFingerprint,
    ...(Object.keys(rejected).length > 0 ? { rejected: sortedByKey(rejected) } : {}),
  };
}

/**
 * Write the manifest, last: with the k-anonymity of this run's files, or the previous one's when this run
 * parsed none.
 */
export function writeIngestManifest(
  file: string,
  next: IngestManifest,
  previous: IngestManifest,
  parsedAny: boolean,
  kAnonymity: KAnonymityReport,
): void {
  writeJsonAtomic(
    file,
    parsedAny
      ? { ...next, k_anonymity: kAnonymity }
      : { ...next, ...(previous.k_anonymity ? { k_anonymity: previous.k_anonymity } : {}) },
  );
}

/**
 * The quarantine folder after a run: one JSON-lines file of rejected rows per parsed source file and one
 * `.rejected.json` per file rejected whole, each replaced atomically; those of dropped files, and rejections
 * of files now parsed, removed.
 */
export function writeQuarantine(
  dir: string,
  plan: IngestRunPlan,
  parsed: readonly ColumnarParsedFile[],
  rejected: Readonly<Record<string, RejectedFile>>,
): void {
  const quarantineFile = (f: string) => path.join(dir, `${f}.jsonl`);
  const rejectedFile = (f: string) => path.join(dir, `${f}.rejected.json`);
  for (const f of plan.drop) fs.rmSync(quarantineFile(f), { force: true });
  for (const f of plan.parse) if (!(f in rejected)) fs.rmSync(rejectedFile(f), { force: true });
  for (const [f, r] of Object.entries(rejected))
    if (!(f in plan.rejectedBefore)) writeJsonAtomic(rejectedFile(f), { file: f, ...r });
  for (const p of parsed) {
    if (p.quarantine.length > 0)
      writeFileAtomic(quarantineFile(p.file), p.quarantine.map((q) => JSON.stringify(q)).join('\n') + '\n');
  }
}

function sortedByKey<T>(record: Readonly<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(record)
      .sort()
      .map((k) => [k, record[k]!]),
  );
}
