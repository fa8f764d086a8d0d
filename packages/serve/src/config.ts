/** Serving configuration, read from the environment by {@link configFromEnv}. */
export interface ServeConfig {
  /** TCP port (`PORT`, default 8000). */
  readonly port: number;
  /** Admin API key (`BOLSILLO_ADMIN_KEY`); null disables the admin routes (403). */
  readonly adminKey: string | null;
  /** Percentage of customers answered by the challenger (`BOLSILLO_CHALLENGER_PERCENT`, default 0). */
  readonly challengerPercent: number;
  /** Shadow mode (`BOLSILLO_SHADOW=1`): the challenger scores and logs, the champion answers. */
  readonly shadow: boolean;
  /** How often the registry aliases are checked, ms (`BOLSILLO_POLL_MS`, default 1000; 0 = never). */
  readonly pollMs: number;
  /** Largest request body (`BOLSILLO_BODY_LIMIT`, default `1mb`, enough for a full batch). */
  readonly bodyLimit: string;
  /** Prediction-log flush interval, ms (`BOLSILLO_LOG_FLUSH_MS`, default 1000). */
  readonly logFlushMs: number;
}

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < min || v > max)
    throw new Error(`${name}=${raw}: expected a number in [${min}, ${max}]`);
  return v;
}

/** The serving configuration from environment variables; throws naming the variable on a bad value. */
export function configFromEnv(env: NodeJS.ProcessEnv): ServeConfig {
  return {
    port: number(env, 'PORT', 8000, 0, 65535),
    adminKey: env.BOLSILLO_ADMIN_KEY && env.BOLSILLO_ADMIN_KEY.length > 0 ? env.BOLSILLO_ADMIN_KEY : null,
    challengerPercent: number(env, 'BOLSILLO_CHALLENGER_PERCENT', 0, 0, 100),
    shadow: ['1', 'true', 'yes'].includes((env.BOLSILLO_SHADOW ?? '').toLowerCase()),
    pollMs: number(env, 'BOLSILLO_POLL_MS', 1000, 0, 3_600_000),
    bodyLimit: env.BOLSILLO_BODY_LIMIT || '1mb',
    logFlushMs: number(env, 'BOLSILLO_LOG_FLUSH_MS', 1000, 10, 3_600_000),
  };
}
