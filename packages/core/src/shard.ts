import fs from 'node:fs';
import path from 'node:path';

/**
 * Shards by customer. A stage that reads much data splits its work by the customers' pseudonymised keys:
 * shard i of N handles the customers whose key hashes to i ({@link shardOf}) and writes only its own
 * part files (`date=…/part-<i>.parquet`), so a customer's whole history is on one worker and a rerun
 * of a shard replaces exactly its parts. A merge run then combines the shards' partial results.
 * One process without a shard is the N = 1 case.
 */

/** Environment variable with the shard count (set in the Jobs of docker/k8s/sharded). */
export const SHARDS_ENV = 'BOLSILLO_SHARDS';
/** Environment variable Kubernetes sets in each pod of an Indexed Job: the pod's index, 0..N-1. */
export const SHARD_INDEX_ENV = 'JOB_COMPLETION_INDEX';
/** Most shards a stage may be split into (a folder of part files per date stays listable). */
export const MAX_SHARDS = 1024;

/** What one run of a shardable stage does. */
export type ShardRole =
  /** The whole stage in one process (N = 1). */
  | { readonly kind: 'whole' }
  /** Shard `index` of `count`: the customers hashing to `index`, its own part files and partial results. */
  | { readonly kind: 'shard'; readonly index: number; readonly count: number }
  /** After every shard: the stage's manifest and whole-data results from the shards' partial results. */
  | { readonly kind: 'merge'; readonly count: number };

/** The one-process role. */
export const WHOLE: ShardRole = { kind: 'whole' };

/**
 * A shard count written as text (1..{@link MAX_SHARDS}); `what` names it in the error.
 *
 * @example parseShardCount('8') // 8
 */
export function parseShardCount(text: string, what = 'shard count'): number {
  if (!/^\d+$/.test(text.trim())) throw new Error(`${what} ${JSON.stringify(text)} is not a whole number`);
  const n = Number(text.trim());
  if (n < 1 || n > MAX_SHARDS) throw new Error(`${what} ${n} is out of range: 1..${MAX_SHARDS}`);
  return n;
}

/**
 * Parse `i/N` (shard i of N, 0 ≤ i < N). `0/1` is the whole stage.
 *
 * @example parseShardSpec('2/4') // { kind: 'shard', index: 2, count: 4 }
 */
export function parseShardSpec(text: string): ShardRole {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) throw new Error(`expected i/N (shard i of N, e.g. 0/4), not ${JSON.stringify(text)}`);
  const n = parseShardCount(m[2]!);
  const i = Number(m[1]);
  if (i >= n) throw new Error(`shard index ${i} is out of range for ${n} shards (0..${n - 1})`);
  return n === 1 ? WHOLE : { kind: 'shard', index: i, count: n };
}

/** A CLI option check for `--shard` (null when valid, else what is expected). */
export function shardSpecCheck(value: string): string | null {
  try {
    parseShardSpec(value);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/**
 * The role of a run from its options and environment: `--merge` (shard count from `--shards` or
 * `BOLSILLO_SHARDS`), `--shard i/N`, or, without either, `JOB_COMPLETION_INDEX` with
 * `BOLSILLO_SHARDS` as a Kubernetes Indexed Job sets them; otherwise the whole stage.
 */
export function shardRole(
  options: { readonly shard?: string; readonly merge?: boolean; readonly shards?: string },
  env: Readonly<Record<string, string | undefined>> = process.env,
): ShardRole {
  if (options.merge === true) {
    if (options.shard !== undefined) throw new Error('--merge and --shard exclude each other: merge after the shards');
    const text = options.shards ?? env[SHARDS_ENV];
    if (text === undefined || text === '')
      throw new Error(`--merge needs the shard count: --shards N or ${SHARDS_ENV}=N`);
    const n = parseShardCount(text);
    if (n === 1) throw new Error('--merge with one shard: nothing to merge (run the stage without --shard)');
    return { kind: 'merge', count: n };
  }
  if (options.shards !== undefined) throw new Error('--shards goes with --merge; a shard run takes --shard i/N');
  if (options.shard !== undefined) return parseShardSpec(options.shard);
  const index = env[SHARD_INDEX_ENV];
  const shards = env[SHARDS_ENV];
  if (index !== undefined && index !== '' && shards !== undefined && shards !== '')
    return parseShardSpec(`${index}/${shards}`);
  return WHOLE;
}

/** `i/N`, `merge of N` or `whole`: how logs and run records name a role. */
export function describeRole(role: ShardRole): string {
  return role.kind === 'whole'
    ? 'whole'
    : role.kind === 'shard'
      ? `${role.index}/${role.count}`
      : `merge of ${role.count}`;
}

/**
 * The shard (0..count-1) of a customer: a 32-bit FNV-1a hash of the pseudonymised customer key, mixed
 * (murmur3's finaliser) so that every bit counts, modulo the shard count. Stable across processes,
 * machines and versions: every stage agrees on where a customer lives.
 *
 * @example shardOf(row.customer_key, 4) // 0..3
 */
export function shardOf(customerKey: string, shards: number): number {
  if (shards <= 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < customerKey.length; i++) {
    h ^= customerKey.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % shards;
}

/**
 * The shard of each entry of a customer-key dictionary, computed once per entry and cached by the
 * dictionary array (which may grow: only new entries are hashed).
 */
export function shardsOfDictionary(dict: readonly string[], shards: number): Uint16Array {
  let cached = dictShards.get(dict);
  if (cached === undefined || cached.shards !== shards) cached = { shards, of: new Uint16Array(0) };
  if (cached.of.length < dict.length) {
    const of = new Uint16Array(dict.length);
    of.set(cached.of);
    for (let c = cached.of.length; c < dict.length; c++) of[c] = shardOf(dict[c]!, shards);
    cached = { shards, of };
  }
  dictShards.set(dict, cached);
  return cached.of;
}
const dictShards = new WeakMap<readonly string[], { shards: number; of: Uint16Array }>();

/** Name of shard `index`'s part file of a date partition, e.g. `part-2.parquet` (`prefix` `landing`: landed rows). */
export function shardPartName(index: number, prefix = 'part'): string {
  return `${prefix}-${index}.parquet`;
}

/** The prefix and shard index of a part file's name (`part-3.parquet` → part, 3), or null for any other name. */
export function partShard(fileName: string): { readonly prefix: string; readonly index: number } | null {
  const m = /^([a-z]+)-(\d+)\.parquet$/.exec(path.basename(fileName));
  return m ? { prefix: m[1]!, index: Number(m[2]) } : null;
}

/** `<i>-of-<N>`: the folder name of a shard's partial results (its own manifest, state and aggregates). */
export function shardTag(index: number, shards: number): string {
  return `${index}-of-${shards}`;
}

/** The shard folders under `root` (`<i>-of-<N>`), with their index and count. */
export function listShardDirs(
  root: string,
): { readonly dir: string; readonly index: number; readonly count: number }[] {
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => ({ e, m: /^(\d+)-of-(\d+)$/.exec(e.name) }))
    .filter((x): x is { e: fs.Dirent; m: RegExpExecArray } => x.m !== null)
    .map(({ e, m }) => ({ dir: path.join(root, e.name), index: Number(m[1]), count: Number(m[2]) }))
    .sort((a, b) => a.count - b.count || a.index - b.index);
}

/**
 * Remove the temporary files a killed writer of the given part files left (`.<name>.tmp-*`) in every
 * date folder under `root`, and nothing else: other shards may be writing theirs at the same time.
 */
export function cleanPartTemporaries(root: string, names: readonly string[]): number {
  if (!fs.existsSync(root)) return 0;
  const prefixes = names.map((n) => `.${n}.tmp-`);
  let removed = 0;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(root, entry.name);
    for (const f of fs.readdirSync(dir)) {
      if (prefixes.some((p) => f.startsWith(p))) {
        fs.rmSync(path.join(dir, f), { recursive: true, force: true });
        removed += 1;
      }
    }
  }
  return removed;
}

/**
 * Remove the part files of shards a run with `shards` shards does not have (`part-<j>`, `landing-<j>`
 * with j ≥ shards, left by an earlier run with more shards) and date folders left empty. For the merge
 * and whole runs only: they run when no shard writes.
 */
export function removeStaleParts(root: string, shards: number, prefixes: readonly string[] = ['part']): number {
  if (!fs.existsSync(root)) return 0;
  let removed = 0;
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^date=/.test(entry.name)) continue;
    const dir = path.join(root, entry.name);
    for (const f of fs.readdirSync(dir)) {
      const p = partShard(f);
      if (p && prefixes.includes(p.prefix) && p.index >= shards) {
        fs.rmSync(path.join(dir, f), { force: true });
        removed += 1;
      }
    }
    if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir);
  }
  return removed;
}
