import crypto from 'node:crypto';

/** Name of the environment variable holding the pseudonymisation secret. */
export const SECRET_ENV = 'BOLSILLO_PSEUDONYM_SECRET';

/** Development secret, used only when none is configured, with a loud warning. */
export const DEVELOPMENT_SECRET = 'bolsillo-development-secret-do-not-use-in-production';

/** The identity tuple of a customer, after normalisation (trimmed, upper-case text). */
export interface CustomerIdentity {
  readonly id: string;
  readonly account_cohort: string;
  readonly city: string;
  readonly state: string;
  readonly age: number;
  readonly sex: string;
}

const norm = (s: string) => s.trim().replace(/\s+/g, ' ').toUpperCase();

/**
 * The pseudonymous customer key: HMAC-SHA256 over the normalised identity tuple. The raw id alone
 * would merge distinct customers (ids were mangled by a spreadsheet), hence the whole tuple.
 *
 * @example customerKey(secret, { id: '4,53E+11', account_cohort: '201405', city: 'SANTOS', state: 'SP', age: 37, sex: 'F' })
 */
export function customerKey(secret: string, identity: CustomerIdentity): string {
  const tuple = [
    identity.id,
    identity.account_cohort,
    identity.city,
    identity.state,
    String(identity.age),
    identity.sex,
  ]
    .map(norm)
    .join('\u001f');
  return crypto.createHmac('sha256', secret).update(tuple).digest('hex');
}

/**
 * The secret from the environment, or the development default with a warning through `warn`.
 * The secret itself is never printed or written.
 */
export function resolveSecret(env: NodeJS.ProcessEnv, warn: (message: string) => void): string {
  const secret = env[SECRET_ENV];
  if (secret && secret.length > 0) return secret;
  warn(
    `WARNING: ${SECRET_ENV} is not set; using the built-in DEVELOPMENT secret. Customer keys are then ` +
      `reversible by anyone with this code. Set ${SECRET_ENV} for real data.`,
  );
  return DEVELOPMENT_SECRET;
}
