import { readContract, type DataLayout } from '@bolsillo/core';
import { ProfileSchema } from '@bolsillo/schema';

/** Category features whose unseen values are counted. */
export const WATCHED_CATEGORIES = ['merchant_group'] as const;

/**
 * The category values a model saw in training: the frequencies of its master table's profile
 * (`master/<master_hash>/profile.json`), read once per master table. Null when the profile is gone.
 */
export class SeenCategories {
  private readonly cache = new Map<string, Map<string, ReadonlySet<string>> | null>();

  constructor(private readonly layout: DataLayout) {}

  /** The features of `row` whose value the master table `masterHash` never had; [] when unknown. */
  unseen(masterHash: string | undefined, row: Readonly<Record<string, unknown>>): string[] {
    if (!masterHash) return [];
    let seen = this.cache.get(masterHash);
    if (seen === undefined) {
      const profile = readContract(this.layout.masterProfile(masterHash), ProfileSchema, null);
      seen = profile
        ? new Map(
            WATCHED_CATEGORIES.flatMap((f) => {
              const column = profile.columns[f];
              return column?.kind === 'categorical' ? [[f, new Set(Object.keys(column.frequencies))] as const] : [];
            }),
          )
        : null;
      this.cache.set(masterHash, seen);
    }
    if (!seen) return [];
    return WATCHED_CATEGORIES.filter((f) => seen.has(f) && typeof row[f] === 'string' && !seen.get(f)!.has(row[f]));
  }
}
