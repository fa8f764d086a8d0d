import { isUtf8 } from 'node:buffer';
import type { TSchema } from '@sinclair/typebox';
import {
  RAW_COLUMNS,
  RAW_TO_CANONICAL,
  TransactionSchema,
  describeErrors,
  validatorFor,
  type Transaction,
} from '@bolsillo/schema';

/** How a file's bytes were decoded. */
export type SourceEncoding = 'ascii' | 'utf-8' | 'mibolsillo-single-byte';

/**
 * The single-byte code page of the source system, as far as the data shows: 0x82 stands for "Ç"
 * (neither cp1252 nor latin1 mean that). Any other byte ≥ 0x80 in a non-UTF-8 file is undecodable.
 */
const SINGLE_BYTE: Readonly<Record<number, string>> = { 0x82: 'Ç' };
/** 1 at index `b - 0x80` when the high byte `b` has a meaning in the single-byte page. */
export const SINGLE_BYTE_OK = Uint8Array.from({ length: 0x80 }, (_, i) =>
  SINGLE_BYTE[i + 0x80] === undefined ? 0 : 1,
);
const SINGLE_BYTE_ENTRIES = Object.entries(SINGLE_BYTE).map(
  ([b, mapped]) => [String.fromCharCode(Number(b)), mapped] as const,
);

/** Why a row was quarantined. */
export type ReasonCode =
  | 'field_count'
  | 'missing_id'
  | 'bad_cohort'
  | 'missing_city'
  | 'unknown_state'
  | 'implausible_age'
  | 'bad_sex'
  | 'bad_limit'
  | 'bad_date'
  | 'bad_amount'
  | 'negative_amount'
  | 'missing_merchant_group'
  | 'schema';

/** Brazilian state codes (27 federative units). */
export const BRAZILIAN_STATES: ReadonlySet<string> = new Set(
  'AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO'.split(' '),
);

/** Domain limits a row must respect beyond the schema. */
export interface DomainRules {
  readonly minAge: number;
  readonly maxAge: number;
}

/** An error that fails the run (exit 1), naming the file. */
export class IngestError extends Error {}

/**
 * Decode a block of whole lines. UTF-8 when valid, otherwise the source's single-byte page; `mode` carries
 * the file's encoding once seen (a file mixing both is undecodable). Throws {@link IngestError} naming the
 * file and line when a byte cannot be decoded (binary garbage).
 */
export function decodeBlock(
  bytes: Uint8Array,
  mode: SourceEncoding,
  where: { file: string; firstLine: number },
): { text: string; mode: SourceEncoding } {
  const next = classifyBlock(bytes, mode, where);
  const ascii = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  return { text: decodeRange(ascii, 0, bytes.length, next), mode: next };
}

/**
 * The encoding of a block of whole lines given the file's encoding so far, without decoding it (the checks
 * and errors of {@link decodeBlock}, which calls it). Throws {@link IngestError} for undecodable bytes.
 */
export function classifyBlock(
  bytes: Uint8Array,
  mode: SourceEncoding,
  where: { file: string; firstLine: number },
): SourceEncoding {
  let high = -1;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) {
      high = i;
      break;
    }
    if (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)
      throw undecodable(bytes, i, where, `control byte 0x${b.toString(16).padStart(2, '0')}`);
  }
  if (high < 0) return mode;
  if (mode === 'mibolsillo-single-byte') {
    // The common case of a single-byte file: one pass checks both rules below; a failure re-runs them
    // in their order, so the error names the same byte.
    let ok = true;
    for (let i = high; i < bytes.length && ok; i++) {
      const b = bytes[i]!;
      ok = b >= 0x80 ? SINGLE_BYTE_OK[b - 0x80] === 1 : b >= 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
    }
    if (ok) return mode;
  }
  for (let i = high; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09)
      throw undecodable(bytes, i, where, `control byte 0x${b.toString(16).padStart(2, '0')}`);
  }
  if (mode !== 'mibolsillo-single-byte') {
    if (isUtf8(bytes)) return 'utf-8';
    if (mode === 'utf-8')
      throw undecodable(bytes, firstInvalidUtf8(bytes), where, 'invalid UTF-8 in a file that started as UTF-8');
  }
  for (let i = high; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b >= 0x80 && SINGLE_BYTE[b] === undefined)
      throw undecodable(bytes, i, where, `byte 0x${b.toString(16)} is neither UTF-8 nor the source code page`);
  }
  return 'mibolsillo-single-byte';
}

/** Decode `bytes[start, end)` of a block already checked by {@link classifyBlock} in encoding `mode`. */
export function decodeRange(bytes: Buffer, start: number, end: number, mode: SourceEncoding): string {
  if (mode === 'utf-8') return bytes.toString('utf8', start, end);
  const text = bytes.toString('latin1', start, end);
  if (mode !== 'mibolsillo-single-byte') return text;
  let out = text;
  for (const [b, mapped] of SINGLE_BYTE_ENTRIES) if (out.includes(b)) out = out.split(b).join(mapped);
  return out;
}

function firstInvalidUtf8(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x80) continue;
    const n = b >= 0xf0 && b < 0xf8 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 && b < 0xe0 ? 1 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n;
  }
  return 0;
}

function undecodable(
  bytes: Uint8Array,
  at: number,
  where: { file: string; firstLine: number },
  what: string,
): IngestError {
  let line = where.firstLine;
  for (let i = 0; i < at; i++) if (bytes[i] === 0x0a) line += 1;
  return new IngestError(`${where.file}: undecodable bytes at line ${line} (${what})`);
}

/**
 * Check the header line against the raw schema's columns. Throws {@link IngestError} naming the file and
 * the missing and unexpected columns.
 */
export function checkHeader(line: string, file: string): void {
  const got = line.replace(/^\uFEFF/, '').split(';');
  const missing = RAW_COLUMNS.filter((c) => !got.includes(c));
  const unexpected = got.filter((c) => !(RAW_COLUMNS as readonly string[]).includes(c));
  if (missing.length === 0 && unexpected.length === 0 && got.every((c, i) => c === RAW_COLUMNS[i])) return;
  const parts = [
    missing.length ? `missing columns ${missing.map((c) => JSON.stringify(c)).join(', ')}` : '',
    unexpected.length ? `unexpected columns ${unexpected.map((c) => JSON.stringify(c)).join(', ')}` : '',
    missing.length === 0 && unexpected.length === 0 ? 'columns out of order' : '',
  ].filter(Boolean);
  throw new IngestError(
    `${file}: wrong header: ${parts.join('; ')} (expected ${RAW_COLUMNS.map((c) => JSON.stringify(c)).join(';')})`,
  );
}

const DATE = /^(\d{1,2})\.(\d{1,2})\.(\d{4})$/;
const AMOUNT = /^-?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?$/;
const INT = /^\d+$/;
const COHORT = /^(\d{4})(\d{2})$/;

/** `d.mm.yyyy` → `YYYY-MM-DD` when it is a real calendar date, else null. */
export function parseSourceDate(text: string): string | null {
  const m = DATE.exec(text);
  if (!m) return null;
  const d = Number(m[1]);
  const mo = Number(m[2]);
  const y = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1) return null;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  if (d > days) return null;
  return `${m[3]}-${String(mo).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** Brazilian amount text ("1.784,13", "54,4", "31") → number; `null` for the missing marker; `NaN` when malformed. */
export function parseBrazilianAmount(text: string): number | null {
  const t = text.trim();
  if (t === '-' || t === '') return null;
  if (!AMOUNT.test(t)) return Number.NaN;
  return Number(t.replace(/\./g, '').replace(',', '.'));
}

/** A parsed row before pseudonymisation: the raw id is still here, and must not leave ingest. */
export interface ParsedRow {
  readonly rawId: string;
  readonly txn: Omit<Transaction, 'customer_key'>;
}

/** A rejected row. */
export interface Rejection {
  readonly reason: ReasonCode;
  readonly detail: string;
}

const C = RAW_TO_CANONICAL;
const IDX = Object.fromEntries(RAW_COLUMNS.map((c, i) => [C[c], i])) as Record<string, number>;

// Interned strings: the values repeat a lot, and slices of a line would keep the whole line alive.
const interned = new Map<string, string>();
function intern(s: string): string {
  let v = interned.get(s);
  if (v === undefined) {
    if (interned.size > 100_000) interned.clear();
    v = (' ' + s).slice(1);
    interned.set(v, v);
  }
  return v;
}

/**
 * Parse one data line of the dialect into a canonical row (minus the pseudonym), or a rejection with a
 * reason code. Pure.
 */
export function parseLine(
  line: string,
  sourceFile: string,
  sourceLine: number,
  rules: DomainRules,
): ParsedRow | Rejection {
  const f = line.split(';');
  if (f.length !== RAW_COLUMNS.length)
    return { reason: 'field_count', detail: `${f.length} fields, expected ${RAW_COLUMNS.length}` };
  const get = (canonical: string) => f[IDX[canonical]!]!.trim();
  const who = parseIdentity(f, rules);
  if ('reason' in who) return who;
  const { rawId, cohort, city, state, age, sex } = who;
  const limitText = get('credit_limit');
  const availText = get('available_limit');
  if (!INT.test(limitText) || !INT.test(availText))
    return { reason: 'bad_limit', detail: `limite_total "${limitText}", limite_disp "${availText}"` };
  const creditLimit = Number(limitText);
  const availableLimit = Number(availText);
  if (creditLimit > 2 ** 31 - 1 || availableLimit > 2 ** 31 - 1)
    return { reason: 'bad_limit', detail: 'limit out of range' };
  const dateText = get('date');
  const date = parseSourceDate(dateText);
  if (!date) return { reason: 'bad_date', detail: `data "${dateText}"` };
  const amountText = f[IDX.amount!]!;
  const amount = parseBrazilianAmount(amountText);
  if (amount !== null && Number.isNaN(amount)) return { reason: 'bad_amount', detail: `valor "${amountText.trim()}"` };
  if (amount !== null && amount < 0) return { reason: 'negative_amount', detail: `valor "${amountText.trim()}"` };
  const merchant = parseMerchant(f);
  if ('reason' in merchant) return merchant;
  const { group, mcity, mcountry } = merchant;
  const txn = {
    txn_id: `${sourceFile}#${sourceLine}`,
    account_cohort: intern(cohort),
    city: intern(city),
    state: intern(state),
    age,
    sex: sex as 'F' | 'M',
    credit_limit: creditLimit,
    available_limit: availableLimit,
    date: intern(date),
    amount,
    merchant_group: intern(group),
    merchant_city: mcity === null ? null : intern(mcity),
    merchant_country: mcountry === null ? null : intern(mcountry),
    source_file: sourceFile,
    source_line: sourceLine,
  };
  return { rawId: intern(rawId), txn };
}

/** The identity fields of a row (the first six raw columns), checked by the domain rules. */
export interface RawIdentity {
  readonly rawId: string;
  readonly cohort: string;
  readonly city: string;
  readonly state: string;
  readonly age: number;
  readonly sex: 'F' | 'M';
}

/** Parse the identity fields of a split line (the domain checks of {@link parseLine}, in its order). Pure. */
export function parseIdentity(f: readonly string[], rules: DomainRules): RawIdentity | Rejection {
  const get = (canonical: string) => f[IDX[canonical]!]!.trim();
  const rawId = get('customer_key');
  if (!rawId) return { reason: 'missing_id', detail: 'empty id' };
  const cohort = get('account_cohort');
  const cm = COHORT.exec(cohort);
  if (!cm || Number(cm[2]) < 1 || Number(cm[2]) > 12)
    return { reason: 'bad_cohort', detail: `safra_abertura "${cohort}"` };
  const city = get('city').replace(/\s+/g, ' ');
  if (!city) return { reason: 'missing_city', detail: 'empty cidade' };
  const state = get('state').toUpperCase();
  if (!BRAZILIAN_STATES.has(state)) return { reason: 'unknown_state', detail: `estado "${state}"` };
  const ageText = get('age');
  const age = INT.test(ageText) ? Number(ageText) : Number.NaN;
  if (!(age >= rules.minAge && age <= rules.maxAge)) return { reason: 'implausible_age', detail: `idade "${ageText}"` };
  const sex = get('sex').toUpperCase();
  if (sex !== 'F' && sex !== 'M') return { reason: 'bad_sex', detail: `sexo "${sex}"` };
  return { rawId, cohort, city, state, age, sex };
}

/** Parse the merchant fields of a split line (group normalised, empty city/country → null). Pure. */
export function parseMerchant(
  f: readonly string[],
): { group: string; mcity: string | null; mcountry: string | null } | Rejection {
  const get = (canonical: string) => f[IDX[canonical]!]!.trim();
  const group = get('merchant_group').replace(/\s+/g, ' ').toUpperCase();
  if (!group) return { reason: 'missing_merchant_group', detail: 'empty grupo_estabelecimento' };
  const mcity = get('merchant_city');
  const mcountry = get('merchant_country');
  return { group, mcity: mcity || null, mcountry: mcountry || null };
}

/** Raw column index of a canonical field. */
export function rawIndex(canonical: keyof Transaction): number {
  return IDX[canonical]!;
}

/**
 * The shared ajv validator split by property: for an object schema whose properties are all required,
 * closed (no additional properties) and carry no cross-field keywords, a row is valid exactly when each
 * value is valid for its property schema. Each property validator is compiled once by the shared
 * `validatorFor` (same ajv instance and options as the whole-row one), so ingest checks a repeated value
 * (a city, a date, a customer) once instead of re-validating the whole row. Throws at load time if the
 * schema ever stops being of that shape, rather than silently checking less.
 */
export const FIELD_VALIDATORS: Readonly<Record<keyof Transaction, (value: unknown) => boolean>> = (() => {
  const s = TransactionSchema as unknown as Record<string, unknown>;
  const allowed = new Set([
    'type',
    'properties',
    'required',
    'additionalProperties',
    '$id',
    'description',
    'title',
    'examples',
  ]);
  const keys = Object.keys(TransactionSchema.properties) as (keyof Transaction)[];
  const required = new Set((s.required as string[] | undefined) ?? []);
  if (
    s.type !== 'object' ||
    s.additionalProperties !== false ||
    keys.some((k) => !required.has(k)) ||
    Object.keys(s).some((k) => !allowed.has(k))
  ) {
    throw new Error(
      'TransactionSchema is no longer a closed object of independent properties: per-field validation would not be equivalent',
    );
  }
  return Object.fromEntries(
    keys.map((k) => [k, validatorFor(TransactionSchema.properties[k] as TSchema) as (value: unknown) => boolean]),
  ) as Record<keyof Transaction, (value: unknown) => boolean>;
})();

/** Check a finished transaction with the shared ajv validator; a rejection or null. */
export function validateTransaction(txn: Transaction): Rejection | null {
  const validate = validatorFor(TransactionSchema);
  if (validate(txn)) return null;
  return { reason: 'schema', detail: describeErrors(validate.errors).join('; ') };
}

/** Mask the id field of a raw line (quarantine is an output too: raw ids never leave ingest). */
export function maskRawLine(line: string): string {
  const i = line.indexOf(';');
  return i < 0 ? '***' : `***${line.slice(i)}`;
}
