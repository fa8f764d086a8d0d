import fs from 'node:fs';
import type { CustomerState, FeatureParams } from './kernel';

/**
 * The online feature store: for every customer, the state after their latest transaction in the
 * offline store, plus the params the offline features were computed with (so serving applies the
 * same essential list). Written atomically by the features stage after each run.
 */
export interface OnlineStoreSnapshot {
  readonly params: FeatureParams;
  /** Latest transaction date folded into the states (ISO date). */
  readonly as_of: string;
  readonly customers: Record<string, CustomerState>;
}

/** File name of the online store inside `dataLayout(dataDir).onlineStore`. */
export const ONLINE_STORE_FILE = 'customers.json';

/**
 * Read the online store; null when the file does not exist (no features run yet).
 * Throws with the file name when it exists but is not a valid store.
 */
export function readOnlineStore(file: string): OnlineStoreSnapshot | null {
  if (!fs.existsSync(file)) return null;
  return parseOnlineStore(file, fs.readFileSync(file, 'utf8'));
}

/** {@link readOnlineStore}'s checks over text already read (`file` names it in errors). */
export function parseOnlineStore(file: string, text: string): OnlineStoreSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const v = value as Partial<OnlineStoreSnapshot> | null;
  if (
    !v ||
    typeof v !== 'object' ||
    typeof v.as_of !== 'string' ||
    !v.params ||
    !Array.isArray(v.params.essentialGroups) ||
    typeof v.customers !== 'object' ||
    v.customers === null
  ) {
    throw new Error(`${file}: not an online feature store (needs params, as_of, customers)`);
  }
  return v as OnlineStoreSnapshot;
}
