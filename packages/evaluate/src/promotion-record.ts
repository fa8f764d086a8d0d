/**
 * The promotion an evaluation is about to make, recorded before the champion alias moves and removed
 * after the report. A run killed in between (a pod evicted) is rerun against the aliases it saw: the
 * rerun compares the candidate with the same champion, reaches the same verdict and report, and does
 * not move the alias again. Without it the rerun would find the candidate already champion and compare
 * it with nobody.
 */
import fs from 'node:fs';
import { canonicalJson, readJson, sha256, writeJsonAtomic, type DataLayout } from '@bolsillo/core';
import type { Aliases, ModelCard } from '@bolsillo/schema';
import type { EvaluateParams } from './params';

/** `reports/.promotion.json`. */
export interface PromotionRecord {
  readonly version: 1;
  /** The evaluation: candidate, master table and params ({@link evaluationKey}). */
  readonly run: string;
  readonly candidate: string;
  /** The aliases the evaluation planned its contenders from. */
  readonly aliases: Aliases;
  /** The version the gate makes champion. */
  readonly promote: string;
}

/** What makes two runs the same evaluation: the candidate, its master table and the params. */
export function evaluationKey(card: ModelCard, params: EvaluateParams): string {
  return sha256(canonicalJson({ candidate: card.version, master: card.master_hash, params }));
}

/**
 * This evaluation's recorded promotion when it has already happened (champion and previous are what
 * it set): its aliases are the ones to evaluate against. Null when there is none, it is another
 * evaluation's, or the run was killed before the alias moved (the current aliases are the ones it saw).
 */
export function donePromotion(
  layout: DataLayout,
  card: ModelCard,
  params: EvaluateParams,
  current: Aliases,
): PromotionRecord | null {
  const record = readJson<PromotionRecord | null>(layout.evaluatePromotion, null);
  if (!record || record.run !== evaluationKey(card, params)) return null;
  const moved =
    current.champion === record.promote && current.previous === (record.aliases.champion ?? record.aliases.previous);
  return moved ? record : null;
}

/** Record the promotion about to be made (atomically). */
export function recordPromotion(layout: DataLayout, record: PromotionRecord): void {
  writeJsonAtomic(layout.evaluatePromotion, record);
}

/** Remove the record once the report and index are written. */
export function clearPromotion(layout: DataLayout): void {
  fs.rmSync(layout.evaluatePromotion, { force: true });
}
