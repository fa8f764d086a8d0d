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

/** Append one entry to `registry/audit.jsonl` (`ts` defaults to now). */
export function appendAudit(registryDir: string, entry: Omit<AuditEntry, 'ts'> & { ts?: string }): void {
  appendJsonl(registryLayout(registryDir).registryAudit, [{ ts: entry.ts ?? new Date().toISOString(), ...entry }]);
}

/** The audit trail, oldest first. */
export function readAudit(registryDir: string): AuditEntry[] {
  return readJsonl<AuditEntry>(registryLayout(registryDir).registryAudit);
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
  const ts = new Date().toISOString();
  const aliases: Aliases = { ...next, updated_at: ts };
  // One file, renamed into place: readers see the old aliases or the new, never a mix.
  writeContract(registryLayout(registryDir).registryAliases, AliasesSchema, aliases);
  const pick = (a: Aliases) => ({ champion: a.champion, challenger: a.challenger, previous: a.previous });
  appendAudit(registryDir, { ts, action, reason, before: pick(before), after: pick(aliases), ...extra });
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
