import { parseArgs } from 'node:util';
import type { StageRun } from '@bolsillo/schema';
import { appendJsonl } from './atomic';
import { acquireDataLock, acquireShardLock } from './data-lock';
import { dataLayout, dirsFromEnv } from './paths';
import { describeRole, SHARDS_ENV, SHARD_INDEX_ENV, shardRole, shardSpecCheck, WHOLE, type ShardRole } from './shard';

/** A command-line option of a stage. */
export interface CliOption {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  readonly default?: string | boolean;
  /** The only values a string option accepts (anything else is refused, naming these). */
  readonly choices?: readonly string[];
  /** A check of a string option's value: an error message naming what is expected, or null when valid. */
  readonly check?: (value: string) => string | null;
}

/** What a stage's run returns: counts for the one-line summary, and anything worth recording. */
export interface StageResult {
  readonly rowsIn: number;
  readonly rowsOut: number;
  /** What `rowsIn` counts (default `rows`). */
  readonly unitIn?: string;
  /** What `rowsOut` counts (default `rows`), e.g. `models` for train, `scored rows` for evaluate. */
  readonly unitOut?: string;
  readonly summary?: Record<string, unknown>;
}

/** What a CLI gets: parsed options and the folders from `DATA_DIR` / `RAW_DIR`. */
export interface CliContext {
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: readonly string[];
  readonly dataDir: string;
  readonly rawDir: string;
  /** Print a progress or info line (stderr). */
  readonly log: (message: string) => void;
  /** Whole stage, one shard, or the merge ({@link CliSpec.shardable} stages; always whole for the others). */
  readonly shard: ShardRole;
}

/** A stage (or tool) command line. */
export interface CliSpec {
  /** Command name, e.g. `ingest`. */
  readonly name: string;
  /** One paragraph for `--help`. */
  readonly description: string;
  readonly options?: Readonly<Record<string, CliOption>>;
  /** Record wall/CPU time, peak memory and rows to `monitoring/runs.jsonl` (compute cost). Default true. */
  readonly recordRun?: boolean;
  /**
   * Whether this invocation only reads (e.g. a dry run): then nothing is written, not even the run record,
   * and the data folder is not locked. Default: reads and writes.
   */
  readonly readOnly?: (values: CliContext['values']) => boolean;
  /**
   * The stage splits into shards by customer: adds `--shard i/N` (or `JOB_COMPLETION_INDEX` with
   * `BOLSILLO_SHARDS`), `--merge` and `--shards N`. A shard run takes its shard's lock instead of
   * the data folder's, so that the shards of a stage run at once.
   */
  readonly shardable?: boolean;
  readonly run: (ctx: CliContext) => Promise<StageResult>;
}

const SHARD_OPTIONS: Readonly<Record<string, CliOption>> = {
  shard: {
    type: 'string',
    check: shardSpecCheck,
    description: `Run shard i of N (i/N): the customers whose key hashes to i, into the stage's part-<i> files. Default: ${SHARD_INDEX_ENV}/${SHARDS_ENV} when both are set (a Kubernetes Indexed Job), else the whole stage.`,
  },
  merge: {
    type: 'boolean',
    description:
      "After every shard has run: write the stage's manifest and whole-data results from the shards' partial results.",
  },
  shards: { type: 'string', description: `Shard count of --merge (default ${SHARDS_ENV}).` },
};

function optionsOf(spec: CliSpec): Readonly<Record<string, CliOption>> {
  return spec.shardable ? { ...SHARD_OPTIONS, ...spec.options } : (spec.options ?? {});
}

function helpText(spec: CliSpec): string {
  const opts = Object.entries(optionsOf(spec)).map(
    ([name, o]) =>
      `  --${name}${o.type === 'string' ? (o.choices ? ` <${o.choices.join('|')}>` : ' <value>') : ''}\n      ${o.description}${o.default !== undefined ? ` (default: ${String(o.default)})` : ''}`,
  );
  return [
    `Usage: ${spec.name} [options]`,
    '',
    spec.description,
    '',
    'Options:',
    ...opts,
    '  --help\n      Show this help.',
    '',
    'Environment: DATA_DIR (default data), RAW_DIR (default data/raw).',
    'Exit code: 0 on success, 1 on failure (the message names the cause).',
  ].join('\n');
}

/**
 * Run a stage's command line: parse options, call `run`, print a one-line summary
 * (rows in, rows out, seconds), record the run's compute cost, and exit 0 or 1.
 */
export async function runCli(spec: CliSpec, argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const options = Object.fromEntries(
    Object.entries(optionsOf(spec)).map(([name, o]) => [
      name,
      { type: o.type, ...(o.default !== undefined ? { default: o.default } : {}) },
    ]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ...options, help: { type: 'boolean' } } as never,
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    process.stderr.write(`${spec.name}: ${(error as Error).message}\n\n${helpText(spec)}\n`);
    process.exitCode = 1;
    return;
  }
  if (parsed.values.help) {
    process.stdout.write(`${helpText(spec)}\n`);
    return;
  }
  const values = parsed.values as CliContext['values'];
  const invalid = invalidOptions({ options: optionsOf(spec) }, values);
  let role: ShardRole = WHOLE;
  try {
    if (spec.shardable)
      role = shardRole({
        ...(typeof values.shard === 'string' ? { shard: values.shard } : {}),
        ...(values.merge === true ? { merge: true } : {}),
        ...(typeof values.shards === 'string' ? { shards: values.shards } : {}),
      });
  } catch (error) {
    if (invalid.length === 0) invalid.push((error as Error).message);
  }
  if (invalid.length > 0) {
    process.stderr.write(`${spec.name}: ${invalid.join('; ')}\n`);
    process.exitCode = 1;
    return;
  }
  const { dataDir, rawDir } = dirsFromEnv();
  const tag = role.kind === 'whole' ? spec.name : `${spec.name} ${describeRole(role)}`;
  const log = (message: string) => process.stderr.write(`[${tag}] ${message}\n`);
  const started = new Date();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const readOnly = spec.readOnly?.(parsed.values as CliContext['values']) === true;
  const writes = spec.recordRun !== false && !readOnly;
  const record = (status: StageRun['status'], rowsIn: number, rowsOut: number, summary?: Record<string, unknown>) => {
    if (!writes) return;
    const cpu = process.cpuUsage(cpu0);
    const run: StageRun = {
      stage: spec.name,
      started_at: started.toISOString(),
      wall_seconds: (performance.now() - t0) / 1000,
      cpu_seconds: (cpu.user + cpu.system) / 1e6,
      peak_rss_mb: process.resourceUsage().maxRSS / 1024,
      rows_in: rowsIn,
      rows_out: rowsOut,
      status,
      ...(summary || role.kind !== 'whole'
        ? { summary: { ...(role.kind !== 'whole' ? { shard: describeRole(role) } : {}), ...summary } }
        : {}),
    };
    try {
      appendJsonl(dataLayout(dataDir).stageRuns, [run]);
    } catch {
      // Cost bookkeeping must never fail a stage.
    }
  };
  let release: () => void = () => undefined;
  try {
    // One writer per data folder: a stage run joins the pipeline run holding the lock, or takes it.
    if (writes)
      release =
        role.kind === 'shard'
          ? acquireShardLock(dataDir, spec.name, role.index)
          : acquireDataLock(dataDir, role.kind === 'merge' ? `${spec.name} merge` : spec.name);
  } catch (error) {
    process.stderr.write(`[${spec.name}] error: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  try {
    const result = await spec.run({ values, positionals: parsed.positionals, dataDir, rawDir, log, shard: role });
    const seconds = (performance.now() - t0) / 1000;
    record('ok', result.rowsIn, result.rowsOut, result.summary);
    process.stdout.write(
      `[${tag}] done: ${result.unitIn ?? 'rows'} in ${result.rowsIn}, ${result.unitOut ?? 'rows'} out ${result.rowsOut}, ${seconds.toFixed(2)}s\n`,
    );
  } catch (error) {
    record('failed', 0, 0, { error: (error as Error).message });
    process.stderr.write(`[${tag}] error: ${(error as Error).message}\n`);
    if (process.env.BOLSILLO_DEBUG) process.stderr.write(`${(error as Error).stack ?? ''}\n`);
    process.exitCode = 1;
  } finally {
    release();
  }
}

/** Messages for string options whose value is not one of its choices or fails its check (pure). */
export function invalidOptions(spec: Pick<CliSpec, 'options'>, values: CliContext['values']): string[] {
  const out: string[] = [];
  for (const [name, o] of Object.entries(spec.options ?? {})) {
    const v = values[name];
    if (typeof v !== 'string') continue;
    if (o.choices && !o.choices.includes(v))
      out.push(`--${name} ${JSON.stringify(v)} is not valid; choose one of: ${o.choices.join(', ')}`);
    const problem = o.check?.(v);
    if (problem) out.push(`--${name} ${JSON.stringify(v)} is not valid: ${problem}`);
  }
  return out;
}

/** A {@link CliOption.check} for calendar dates written YYYY-MM-DD. */
export function isoDateCheck(value: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return 'expected a date as YYYY-MM-DD, e.g. 2020-05-07';
  const d = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== value
    ? `${value} is not a calendar date (YYYY-MM-DD)`
    : null;
}
