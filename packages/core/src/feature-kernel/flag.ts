/**
 * The authorisation-time revenge-spending flag: exact arithmetic on one transaction, no model.
 * The build stage labels every transaction with it and the API answers it for every request, so
 * both use this one function.
 */

/** The flag's rule (the build params' `target`): threshold on available / total limit, essential groups. */
export interface FlagRule {
  readonly threshold: number;
  readonly essential_groups: readonly string[];
}

/** The flag of one transaction with the conditions behind it. */
export interface RevengeFlag {
  /** Both conditions hold. Null when the ratio cannot be computed (total limit 0 or missing). */
  readonly flagged: boolean | null;
  /** available / total limit, unrounded; null when the total limit is not positive. */
  readonly available_ratio: number | null;
  readonly below_threshold: boolean | null;
  readonly non_essential: boolean;
}

const essentialSets = new WeakMap<readonly string[], ReadonlySet<string>>();
function essentialSet(groups: readonly string[]): ReadonlySet<string> {
  let set = essentialSets.get(groups);
  if (!set) essentialSets.set(groups, (set = new Set(groups.map(normaliseGroup))));
  return set;
}

/** Group names compare trimmed and upper-cased (" supermercados " is SUPERMERCADOS). */
export function normaliseGroup(group: string): string {
  return group.trim().toUpperCase();
}

/**
 * Is this transaction revenge spending? available / total limit (compared unrounded) below the
 * threshold, at a merchant group outside the essential list. `ratio` is the available share when
 * the caller has it (NaN or null: not computable).
 *
 * @example revengeFlagOfRatio(0.05, 'VESTUARIO', { threshold: 0.2, essential_groups: ['SERVIÇO'] }).flagged // true
 */
export function revengeFlagOfRatio(ratio: number | null, group: string | null, rule: FlagRule): RevengeFlag {
  const nonEssential = !(group !== null && essentialSet(rule.essential_groups).has(normaliseGroup(group)));
  if (ratio === null || !Number.isFinite(ratio))
    return { flagged: null, available_ratio: null, below_threshold: null, non_essential: nonEssential };
  const below = ratio < rule.threshold;
  return {
    flagged: below && nonEssential,
    available_ratio: ratio,
    below_threshold: below,
    non_essential: nonEssential,
  };
}

/** {@link revengeFlagOfRatio} from a transaction's balance, limit and merchant group. */
export function revengeFlag(
  txn: { available_limit: number; credit_limit: number; merchant_group: string },
  rule: FlagRule,
): RevengeFlag {
  return revengeFlagOfRatio(
    txn.credit_limit > 0 ? txn.available_limit / txn.credit_limit : null,
    txn.merchant_group,
    rule,
  );
}
