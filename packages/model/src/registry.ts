/**
 * The model registry: versions under `registry/models/<version>/`, the aliases in `aliases.json` (one
 * file renamed into place) and the audit trail `audit.jsonl`, which explains every alias value.
 *
 * An alias move and its audit entry are all or nothing across SIGKILL. The entry is written first, whole
 * and atomically, as the move in progress (`registry/.alias-move.json`); then aliases.json; then the
 * entry is appended to the trail and the move file removed. A writer killed in between leaves the move:
 * - aliases.json not written (its `updated_at` is not the entry's `ts`): the move never happened, and
 *   the next writer drops it;
 * - aliases.json written: the move happened; `readAudit` lists its entry at once, and the next writer
 *   ({@link completeAliasMove}) appends it unless the trail already has it (killed after the append).
 * aliases.json and audit.jsonl keep their formats: a reader that knows nothing of the move file still
 * reads both (a raw reader of the trail misses the entry only until the next registry write).
 */
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import {
  AliasesSchema,
  ModelCardSchema,
  describeErrors,
  validatorFor,
  type AliasName,
  type Aliases,
  type ModelCard,
} from '@bolsillo/schema';
import {
  appendJsonl,
  readContract,
  readJson,
  readJsonl,
  registryLayout,
  writeContract,
  writeDirAtomic,
  writeFileAtomic,
  writeJsonAtomic,
} from '@bolsillo/core';
import type { ModelArtifacts } from './artifacts';

/** Alias names, in display order. */
export const ALIAS_NAMES: readonly AliasName[] = ['champion', 'challenger', 'previous'];

/** Version ids sort by time: `YYYYMMDDTHHMMSSZ-<6 hex>`. */
export const VERSION_PATTERN = /^\d{8}T\d{6}Z-[0-9a-f]{6}$/;

/** One line of `registry/audit.jsonl`: who changed what, when and why. */
export interface AuditEntry {
  readonly ts: string;
  /** e.g. `register`, `alias`, `promote`, `rollback`. */
  readonly action: string;
  readonly reason: string;
  readonly version?: string | null;
  readonly alias?: AliasName;
  /** Alias values before the change. */
  readonly before?: Partial<Record<AliasName, string | null>>;
  readonly after?: Partial<Record<AliasName, string | null>>;
  readonly actor?: string;
  readonly [extra: string]: unknown;
}

/**
 * A new version id from a time and a random suffix.
 *
 * @example newVersionId(new Date('2024-05-01T12:00:00Z')) // '20240501T120000Z-3fa9c1'
 */
export function newVersionId(at: Date, suffix: string = crypto.randomBytes(3).toString('hex')): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
  return `${stamp}-${suffix}`;
}

function checkVersion(version: string): string {
  if (!VERSION_PATTERN.test(version))
    throw new Error(`registry: "${version}" is not a version id (YYYYMMDDTHHMMSSZ-xxxxxx)`);
  return version;
}

/** Folder of one model version: `<registry>/models/<version>`. */
export function modelDir(registryDir: string, version: string): string {
  return registryLayout(registryDir).modelDir(checkVersion(version));
}

/** Read and validate one version's model card. */
export function readCard(registryDir: string, version: string): ModelCard {
  return readContract(registryLayout(registryDir).modelCard(checkVersion(version)), ModelCardSchema);
}

/** Every registered version's card, oldest first. Folders without a readable card (half-written, foreign) are skipped. */
export function listVersions(registryDir: string): ModelCard[] {
  const layout = registryLayout(registryDir);
  if (!fs.existsSync(layout.registryModels)) return [];
  return fs
    .readdirSync(layout.registryModels)
    .filter((name) => VERSION_PATTERN.test(name) && fs.existsSync(layout.modelCard(name)))
    .sort()
    .map((v) => readCard(registryDir, v));
}

/** The aliases file; all aliases null when nothing was registered yet. */
export function readAliases(registryDir: string): Aliases {
  return readContract(registryLayout(registryDir).registryAliases, AliasesSchema, {
    champion: null,
    challenger: null,
    previous: null,
    updated_at: '',
  });
}

const pick = (a: Aliases) => ({ champion: a.champion, challenger: a.challenger, previous: a.previous });

/** The alias move a writer started and has not finished: its audit entry, or null. */
function moveInProgress(registryDir: string): AuditEntry | null {
  return readJson<AuditEntry | null>(registryLayout(registryDir).registryAliasMove, null);
}

/** Whether aliases.json is what `move` wrote: its time and its aliases. */
function applied(move: AuditEntry, aliases: Aliases): boolean {
  return aliases.updated_at === move.ts && ALIAS_NAMES.every((n) => aliases[n] === move.after?.[n]);
}

/** Whether the trail already holds `move`'s entry (a writer killed after the append, before removing the move). */
function recorded(move: AuditEntry, entries: readonly AuditEntry[]): boolean {
  const line = JSON.stringify(move);
  return entries.some((e) => JSON.stringify(e) === line);
}

/**
 * Cut a torn last line (a writer killed mid-append) before appending: left in place, it would end up in
 * the middle of the trail, where it can no longer be told from corruption.
 */
function cutTornTail(file: string): void {
  if (!fs.existsSync(file)) return;
  const fd = fs.openSync(file, 'r+');
  try {
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    if (size === 0 || (fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] === 0x0a)) return;
    fs.ftruncateSync(fd, fs.readFileSync(fd).lastIndexOf(0x0a) + 1);
  } finally {
    fs.closeSync(fd);
  }
}

function appendEntry(registryDir: string, entry: AuditEntry): void {
  const file = registryLayout(registryDir).registryAudit;
  cutTornTail(file);
  appendJsonl(file, [entry]);
}

/**
 * Finish the alias move a killed writer left: append its audit entry when aliases.json holds it and the
 * trail does not, drop it when aliases.json was never written. Every registry write calls it first, and
 * so does a stage that writes the registry (evaluate's promotion, a monitor run) when it starts, so the
 * trail explains aliases.json again. Returns the move it completed, or null.
 */
export function completeAliasMove(registryDir: string): AuditEntry | null {
  const layout = registryLayout(registryDir);
  const move = moveInProgress(registryDir);
  if (!move) return null;
  const done = applied(move, readAliases(registryDir));
  if (done && !recorded(move, readJsonl<AuditEntry>(layout.registryAudit))) appendEntry(registryDir, move);
  fs.rmSync(layout.registryAliasMove, { force: true });
  return done ? move : null;
}

/** Append one entry to `registry/audit.jsonl` (`ts` defaults to now), after any move a killed writer left. */
export function appendAudit(registryDir: string, entry: Omit<AuditEntry, 'ts'> & { ts?: string }): void {
  completeAliasMove(registryDir);
  appendEntry(registryDir, { ts: entry.ts ?? new Date().toISOString(), ...entry } as AuditEntry);
}

/**
 * The audit trail, oldest first, with the entry of an alias move that aliases.json shows and a killed
 * writer did not get to append: the trail always explains aliases.json.
 */
export function readAudit(registryDir: string): AuditEntry[] {
  // The move before the trail: a move completed in between is then in the trail, and not listed twice.
  const move = moveInProgress(registryDir);
  const entries = readJsonl<AuditEntry>(registryLayout(registryDir).registryAudit);
  return move && applied(move, readAliases(registryDir)) && !recorded(move, entries) ? [...entries, move] : entries;
}

function requireVersion(registryDir: string, version: string): void {
  if (!fs.existsSync(registryLayout(registryDir).modelCard(checkVersion(version))))
    throw new Error(`registry: version ${version} is not registered`);
}

function requireReason(reason: string): void {
  if (!reason || !reason.trim()) throw new Error('registry: a reason is required for every alias change');
}

function writeAliases(
  registryDir: string,
  before: Aliases,
  next: Omit<Aliases, 'updated_at'>,
  action: string,
  reason: string,
  extra: Record<string, unknown> = {},
): Aliases {
  const layout = registryLayout(registryDir);
  completeAliasMove(registryDir);
  const ts = new Date().toISOString();
  const aliases: Aliases = { ...next, updated_at: ts };
  const entry: AuditEntry = { ts, action, reason, before: pick(before), after: pick(aliases), ...extra };
  // The entry first, then aliases.json (one file renamed into place: the old aliases or the new, never a
  // mix), then the trail: a kill anywhere leaves a move the next writer completes or drops.
  writeJsonAtomic(layout.registryAliasMove, entry);
  writeContract(layout.registryAliases, AliasesSchema, aliases);
  appendEntry(registryDir, entry);
  fs.rmSync(layout.registryAliasMove, { force: true });
  return aliases;
}

/** Point `alias` at `version` (or clear it with null). Atomic and audited. */
export function setAlias(registryDir: string, alias: AliasName, version: string | null, reason: string): Aliases {
  requireReason(reason);
  if (!ALIAS_NAMES.includes(alias))
    throw new Error(`registry: unknown alias "${alias}" (use ${ALIAS_NAMES.join(', ')})`);
  if (version !== null) requireVersion(registryDir, version);
  const before = readAliases(registryDir);
  return writeAliases(
    registryDir,
    before,
    { champion: before.champion, challenger: before.challenger, previous: before.previous, [alias]: version },
    'alias',
    reason,
    { alias, version },
  );
}

/**
 * Make `version` the champion; the old champion becomes `previous`. If `version` was the
 * challenger, the challenger slot is cleared. Atomic and audited.
 */
export function promote(registryDir: string, version: string, reason: string): Aliases {
  requireReason(reason);
  requireVersion(registryDir, version);
  const before = readAliases(registryDir);
  if (before.champion === version) throw new Error(`registry: ${version} is already the champion`);
  return writeAliases(
    registryDir,
    before,
    {
      champion: version,
      previous: before.champion ?? before.previous,
      challenger: before.challenger === version ? null : before.challenger,
    },
    'promote',
    reason,
    { version },
  );
}

/**
 * Put `previous` back as champion. `previous` is then cleared (the demoted champion stays in the
 * audit trail), so a repeated rollback cannot bring a bad model back. Atomic and audited.
 */
export function rollback(registryDir: string, reason: string): Aliases {
  requireReason(reason);
  const before = readAliases(registryDir);
  if (!before.previous) throw new Error('registry: no previous version to roll back to');
  requireVersion(registryDir, before.previous);
  return writeAliases(
    registryDir,
    before,
    { champion: before.previous, previous: null, challenger: before.challenger },
    'rollback',
    reason,
    {
      version: before.previous,
      demoted: before.champion,
    },
  );
}

/**
 * Register a model version: writes `model.json`, `weights.bin`, `card.json` and any extra files
 * into a temporary folder renamed into place, then audits it. Refuses to overwrite a version.
 */
export async function writeModelVersion(
  registryDir: string,
  card: ModelCard,
  artifacts: ModelArtifacts,
  extraFiles: Readonly<Record<string, string | Uint8Array>> = {},
): Promise<string> {
  const validate = validatorFor(ModelCardSchema);
  if (!validate(card)) throw new Error(`registry: invalid model card: ${describeErrors(validate.errors).join('; ')}`);
  const layout = registryLayout(registryDir);
  const dir = modelDir(registryDir, card.version);
  if (fs.existsSync(dir)) throw new Error(`registry: version ${card.version} already exists`);
  await writeDirAtomic(dir, (tmp, staged) => {
    writeJsonAtomic(staged(layout.modelJson(card.version)), artifacts.modelJson);
    writeFileAtomic(staged(layout.modelWeights(card.version)), artifacts.weights);
    for (const [name, data] of Object.entries(extraFiles)) writeFileAtomic(path.join(tmp, name), data);
    // The card goes last: listVersions only lists folders with a card.
    writeContract(staged(layout.modelCard(card.version)), ModelCardSchema, card);
  });
  appendAudit(registryDir, {
    ts: card.created_at,
    action: 'register',
    version: card.version,
    reason: `trained ${card.family} on master ${card.master_hash}`,
  });
  return dir;
}
