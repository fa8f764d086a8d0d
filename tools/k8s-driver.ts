/**
 * The daily pipeline on Kubernetes, in shards (docker/k8s/cronjob.yaml runs it in the image): creates
 * each stage's Jobs from docker/k8s/sharded/ in order, with the shard count of the ConfigMap
 * `bolsillo-pipeline` (key `shards`, handed in as BOLSILLO_SHARDS) written into every Job, waits for
 * each to complete, deletes it, and stops at the first failed Job, naming the stage and the failed
 * shard indexes. It talks to the Kubernetes API with its service account's token (Jobs: create, get,
 * delete; docker/k8s/rbac.yaml), over node's own https client: no kubectl, no client library.
 *
 * The Jobs keep the manifests' names, as `kubectl replace --force` does: a finished Job of an earlier
 * run is deleted first, one still running stops the run (two runs would write the same data folder).
 *
 * Each step has a deadline (ConfigMap key `step-deadline-seconds`, handed in as
 * BOLSILLO_STEP_DEADLINE_SECONDS), written into every Job as `activeDeadlineSeconds`: Kubernetes fails
 * a Job still running then (pods Pending for want of a volume or a node, a hung process), and the
 * driver reports it as any failed Job. Should the Job still not have ended a grace period later, the
 * driver deletes it and stops, saying what the Job was waiting for: a stuck Job never hangs the CronJob.
 *
 * @example node node_modules/tsx/dist/cli.mjs tools/k8s-driver.ts   # in a pod of the CronJob
 */
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { parse } from 'yaml';

/** The shard count setting (same name as core's SHARDS_ENV; the stages read it too). */
export const SHARDS_ENV = 'BOLSILLO_SHARDS';
/** The image the stage Jobs run (the CronJob sets it to its own image). */
export const IMAGE_ENV = 'BOLSILLO_IMAGE';
/** The per-step deadline setting, in seconds (ConfigMap `bolsillo-pipeline`, key `step-deadline-seconds`). */
export const STEP_DEADLINE_ENV = 'BOLSILLO_STEP_DEADLINE_SECONDS';
/** Default step deadline: 6 h, the `kubectl wait --timeout` of a run by hand (docker/k8s/README.md). */
export const DEFAULT_STEP_DEADLINE_SECONDS = 6 * 3600;
/** Most shards a stage takes (core's MAX_SHARDS). */
export const MAX_SHARDS = 1024;
/** The manifests the driver creates its Jobs from, as they sit in the image. */
export const SHARDED_DIR = path.resolve(__dirname, '..', 'docker', 'k8s', 'sharded');
const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/* eslint-disable @typescript-eslint/no-explicit-any -- Kubernetes objects are free-form JSON, read by shape */
export type Manifest = Record<string, any>;

/** The pipeline's stages in order; the sharded ones run as an Indexed Job and, above one shard, a merge Job. */
export const STAGES = [
  { stage: 'ingest', sharded: true },
  { stage: 'features', sharded: true },
  { stage: 'build', sharded: true },
  { stage: 'train', sharded: false },
  { stage: 'evaluate', sharded: true },
  { stage: 'monitor', sharded: false },
] as const;

/** One Job of the sequence: which stage, which step, and the manifest file it comes from. */
export interface Step {
  readonly stage: string;
  /** `shards`: the Indexed Job (pod i runs shard i); `merge`: the stage's merge; `one`: a one-process stage. */
  readonly step: 'shards' | 'merge' | 'one';
  /** File name in docker/k8s/sharded/. */
  readonly file: string;
}

/**
 * The Jobs of one run in order. With one shard the Indexed Job has one pod, which runs the whole
 * stage (`--shard 0/1` is one process), and there is nothing to merge.
 *
 * @example planSteps(4).map((s) => s.file) // ingest-shards.yaml, ingest-merge.yaml, features-shards.yaml, ...
 */
export function planSteps(shards: number): Step[] {
  return STAGES.flatMap(({ stage, sharded }): Step[] =>
    !sharded
      ? [{ stage, step: 'one', file: `${stage}.yaml` }]
      : shards === 1
        ? [{ stage, step: 'shards', file: `${stage}-shards.yaml` }]
        : [
            { stage, step: 'shards', file: `${stage}-shards.yaml` },
            { stage, step: 'merge', file: `${stage}-merge.yaml` },
          ],
  );
}

/** The shard count from the environment (the ConfigMap's `shards`); throws on anything but 1..1024. */
export function shardCount(env: Readonly<Record<string, string | undefined>>): number {
  const text = (env[SHARDS_ENV] ?? '').trim();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > MAX_SHARDS)
    throw new Error(
      `${SHARDS_ENV} (ConfigMap bolsillo-pipeline, key shards) must be a whole number 1..${MAX_SHARDS}, got ${JSON.stringify(env[SHARDS_ENV] ?? '')}`,
    );
  return Number(text);
}

/** The step deadline from the environment: unset or empty is the default; else a whole number of seconds, 1 s..7 days. */
export function stepDeadline(env: Readonly<Record<string, string | undefined>>): number {
  const text = (env[STEP_DEADLINE_ENV] ?? '').trim();
  if (text === '') return DEFAULT_STEP_DEADLINE_SECONDS;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 7 * 86400)
    throw new Error(
      `${STEP_DEADLINE_ENV} (ConfigMap bolsillo-pipeline, key step-deadline-seconds) must be a whole number of seconds 1..604800, got ${JSON.stringify(env[STEP_DEADLINE_ENV])}`,
    );
  return Number(text);
}

function setEnv(container: Manifest, name: string, value: string): void {
  const env = (container.env ?? []).filter((e: Manifest) => e.name !== name);
  container.env = [{ name, value }, ...env];
}

/**
 * The Job to create for a step: the manifest with the shard count written into it (an Indexed Job's
 * `completions` and `parallelism`, and BOLSILLO_SHARDS in every container of a shard or merge Job) and,
 * when given, the image and the step deadline (`activeDeadlineSeconds`). Pure: the manifest is copied,
 * not changed.
 */
export function jobFor(
  manifest: Manifest,
  step: Step,
  shards: number,
  image?: string,
  deadlineSeconds?: number,
): Manifest {
  if (manifest.kind !== 'Job') throw new Error(`${step.file}: expected a Job, got ${manifest.kind}`);
  const job = structuredClone(manifest);
  const pod = job.spec?.template?.spec;
  if (!pod?.containers?.length) throw new Error(`${step.file}: the Job has no containers`);
  const indexed = job.spec.completionMode === 'Indexed';
  if (indexed !== (step.step === 'shards'))
    throw new Error(`${step.file}: a ${step.step} step needs ${step.step === 'shards' ? 'an ' : 'a non-'}Indexed Job`);
  if (indexed) {
    job.spec.completions = shards;
    job.spec.parallelism = shards;
  }
  if (deadlineSeconds !== undefined) job.spec.activeDeadlineSeconds = deadlineSeconds;
  for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
    if (step.step !== 'one') setEnv(c, SHARDS_ENV, String(shards));
    if (image) c.image = image;
  }
  return job;
}

/** Where a Job stands, from its status conditions (Complete and Failed are the terminal ones). */
export type JobState =
  | { readonly kind: 'running' }
  | { readonly kind: 'complete' }
  | { readonly kind: 'failed'; readonly reason: string; readonly failedIndexes: string };

export function jobState(job: Manifest): JobState {
  const conditions: Manifest[] = job.status?.conditions ?? [];
  const holds = (type: string) => conditions.find((c) => c.type === type && c.status === 'True');
  const failed = holds('Failed');
  if (failed)
    return {
      kind: 'failed',
      reason: [failed.reason, failed.message].filter(Boolean).join(': ') || 'failed',
      failedIndexes: job.status?.failedIndexes ?? '',
    };
  return holds('Complete') ? { kind: 'complete' } : { kind: 'running' };
}

/** The indexes of Kubernetes' compressed `failedIndexes` ("1,3-5" → [1, 3, 4, 5]). */
export function parseIndexes(text: string): number[] {
  return text
    .split(',')
    .filter((p) => p.trim() !== '')
    .flatMap((part) => {
      const [from, to = from] = part.split('-').map((n) => Number(n.trim()));
      return Array.from({ length: to! - from! + 1 }, (_, k) => from! + k);
    });
}

/** What a failed step says: the stage, the step, the failed shard indexes and where their logs are. */
export function failureMessage(
  step: Step,
  name: string,
  shards: number,
  state: Extract<JobState, { kind: 'failed' }>,
): string {
  const indexes = parseIndexes(state.failedIndexes);
  if (step.step === 'shards' && indexes.length > 0) {
    const which = indexes.length === 1 ? `shard ${indexes[0]}` : `shards ${indexes.join(', ')}`;
    return (
      `${step.stage}: ${which} of ${shards} failed (Job ${name}: ${state.reason}); logs: ` +
      `kubectl logs -l job-name=${name},batch.kubernetes.io/job-completion-index=${indexes[0]}`
    );
  }
  const what = step.step === 'shards' ? `the shards (${shards})` : step.step === 'merge' ? 'the merge' : 'the stage';
  // Past activeDeadlineSeconds Kubernetes stops the pods: the Job's events say whether they ever ran.
  const where = state.reason.startsWith('DeadlineExceeded')
    ? `step deadline (${STEP_DEADLINE_ENV}); events: kubectl describe job/${name}`
    : `logs: kubectl logs job/${name}`;
  return `${step.stage}: ${what} failed (Job ${name}: ${state.reason}); ${where}`;
}

/**
 * What a Job still running is waiting for, from its status: its pods' counts, and the likely cause
 * when none is ready (a Pending pod: a PersistentVolumeClaim not bound, no node with room, an image
 * that cannot be pulled).
 *
 * @example waitingFor({ spec: { completions: 4 }, status: { active: 4 } }) // '4 pod(s) to complete: 0 succeeded, 4 active (0 ready: ...'
 */
export function waitingFor(job: Manifest): string {
  const n = (x: unknown) => (typeof x === 'number' ? x : 0);
  const completions = job.spec?.completions ?? 1;
  const { active, ready, succeeded, failed } = job.status ?? {};
  const counts = `${n(succeeded)} succeeded, ${n(active)} active (${n(ready)} ready), ${n(failed)} failed`;
  const stuck =
    n(active) > n(ready)
      ? '; pods not ready are Pending or starting: a PersistentVolumeClaim not bound, no node with room, an image not pulled?'
      : n(active) === 0 && n(succeeded) < completions
        ? '; no pod running: the Job controller created none (quota, admission)?'
        : '';
  return `${completions} pod(s) to complete: ${counts}${stuck}`;
}

/** An answer of the Kubernetes API. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: Manifest;
}

/** How the driver reaches the API: the base URL, a bearer token (read per request: it rotates), the CA. */
export interface ApiConfig {
  readonly base: string;
  readonly token: () => string;
  readonly ca?: Buffer;
  readonly namespace: string;
}

/** The in-cluster API as a pod sees it: KUBERNETES_SERVICE_HOST/PORT and the mounted service-account files. */
export function inClusterConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  const host = env.KUBERNETES_SERVICE_HOST;
  if (!host)
    throw new Error('KUBERNETES_SERVICE_HOST is not set: the driver runs in a pod of the CronJob (docker/k8s/)');
  const read = (f: string) => fs.readFileSync(path.join(SERVICE_ACCOUNT_DIR, f));
  return {
    base: `https://${host.includes(':') ? `[${host}]` : host}:${env.KUBERNETES_SERVICE_PORT ?? '443'}`,
    token: () => read('token').toString('utf8').trim(),
    ca: read('ca.crt'),
    namespace: read('namespace').toString('utf8').trim(),
  };
}

/** One API call with a JSON body; resolves with the status and the parsed answer (errors: network only). */
export function apiRequest(config: ApiConfig, method: string, urlPath: string, body?: unknown): Promise<ApiAnswer> {
  const url = new URL(urlPath, config.base);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method,
        ...(config.ca ? { ca: config.ca } : {}),
        headers: {
          authorization: `Bearer ${config.token()}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 60_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: Manifest = {};
          try {
            parsed = text === '' ? {} : (JSON.parse(text) as Manifest);
          } catch {
            parsed = { message: text.slice(0, 500) };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: no answer in 60 s`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface DriverOptions {
  readonly api: ApiConfig;
  readonly shards: number;
  /** The image every stage Job runs; default: the manifests' own. */
  readonly image?: string;
  /** Manifest folder (default: docker/k8s/sharded/ of this checkout or image). */
  readonly dir?: string;
  /** How often a Job's status is read. */
  readonly pollMs?: number;
  /** Each Job's `activeDeadlineSeconds` (default {@link DEFAULT_STEP_DEADLINE_SECONDS}). */
  readonly stepDeadlineSeconds?: number;
  /**
   * How long past the step deadline the driver waits for Kubernetes to end the Job itself (default
   * 5 min: the Job controller marks it failed and stops its pods) before it deletes the Job and stops.
   */
  readonly graceMs?: number;
  readonly log?: (line: string) => void;
  /** Set by a signal handler: the running Job is deleted and the run stops. */
  readonly signal?: AbortSignal;
}

/** What a run did, step by step. */
export interface DriverResult {
  readonly ok: boolean;
  readonly steps: readonly {
    readonly name: string;
    readonly stage: string;
    readonly step: string;
    readonly seconds: number;
  }[];
  readonly error?: string;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Every Job manifest of the sequence, read and parsed before the first Job is created (a broken file stops nothing half-way). */
export function loadSteps(shards: number, dir = SHARDED_DIR): { step: Step; manifest: Manifest }[] {
  return planSteps(shards).map((step) => {
    const file = path.join(dir, step.file);
    return { step, manifest: parse(fs.readFileSync(file, 'utf8')) as Manifest };
  });
}

/**
 * Run the sequence: for each step, clear a finished Job of the same name, create the Job, wait for a
 * terminal condition, delete it when it completed (its pods go with it) or stop with the failure,
 * leaving the failed Job and its pods for `kubectl logs`.
 */
export async function runDriver(options: DriverOptions): Promise<DriverResult> {
  const { api, shards, pollMs = 5000, log = (l: string) => console.log(l), signal } = options;
  const { stepDeadlineSeconds = DEFAULT_STEP_DEADLINE_SECONDS, graceMs = 5 * 60_000 } = options;
  const jobs = `/apis/batch/v1/namespaces/${encodeURIComponent(api.namespace)}/jobs`;
  const call = (method: string, p: string, body?: unknown) => apiRequest(api, method, p, body);
  const apiError = (what: string, a: ApiAnswer) =>
    new Error(`${what}: the API answered ${a.status}${a.body.message ? ` (${a.body.message})` : ''}`);
  const steps: { name: string; stage: string; step: string; seconds: number }[] = [];
  const plan = loadSteps(shards, options.dir).map(({ step, manifest }) => ({
    step,
    job: jobFor(manifest, step, shards, options.image, stepDeadlineSeconds),
  }));
  log(`[k8s-driver] ${plan.length} Jobs, ${shards} shard(s): ${plan.map((p) => p.job.metadata.name).join(', ')}`);

  /** Delete a Job and wait until it is gone, pods included (Foreground). */
  async function removeJob(name: string): Promise<void> {
    const del = await call('DELETE', `${jobs}/${name}`, { propagationPolicy: 'Foreground' });
    if (del.status !== 200 && del.status !== 202 && del.status !== 404) throw apiError(`delete Job ${name}`, del);
    for (;;) {
      const got = await call('GET', `${jobs}/${name}`);
      if (got.status === 404) return;
      if (got.status !== 200) throw apiError(`read Job ${name}`, got);
      await sleep(pollMs);
    }
  }

  for (const { step, job } of plan) {
    const name: string = job.metadata.name;
    const t0 = Date.now();
    const label = step.step === 'one' ? step.stage : `${step.stage} ${step.step}`;
    try {
      const earlier = await call('GET', `${jobs}/${name}`);
      if (earlier.status === 200) {
        if (jobState(earlier.body).kind === 'running')
          throw new Error(
            `${label}: Job ${name} of an earlier run is still running; wait for it or delete it (kubectl delete job ${name})`,
          );
        log(`[k8s-driver] ${label}: deleting the finished Job ${name} of an earlier run`);
        await removeJob(name);
      } else if (earlier.status !== 404) throw apiError(`read Job ${name}`, earlier);
      if (signal?.aborted) throw new Error(`${label}: stopped before it started (${String(signal.reason)})`);

      const created = await call('POST', jobs, job);
      if (created.status !== 201 && created.status !== 200) throw apiError(`${label}: create Job ${name}`, created);
      const pods = job.spec.completionMode === 'Indexed' ? `${shards} pod(s)` : 'one pod';
      log(`[k8s-driver] ${label}: created Job ${name} (${pods}, deadline ${stepDeadlineSeconds} s)`);
      const createdAt = Date.now();
      const giveUp = createdAt + stepDeadlineSeconds * 1000 + graceMs;

      for (;;) {
        await sleep(pollMs, signal);
        if (signal?.aborted) {
          await removeJob(name);
          throw new Error(`${label}: stopped (${String(signal.reason)}); Job ${name} deleted`);
        }
        const got = await call('GET', `${jobs}/${name}`);
        if (got.status !== 200) throw apiError(`${label}: read Job ${name}`, got);
        const state = jobState(got.body);
        if (state.kind === 'running' && Date.now() >= giveUp) {
          // Kubernetes did not end it at its activeDeadlineSeconds: it goes, not left to run or to block the next run.
          const del = await call('DELETE', `${jobs}/${name}`, { propagationPolicy: 'Background' });
          const gone = del.status === 200 || del.status === 202 || del.status === 404;
          throw new Error(
            `${label}: Job ${name} still running ${((Date.now() - createdAt) / 1000).toFixed(0)} s after it was created, past the step deadline ` +
              `of ${stepDeadlineSeconds} s (${STEP_DEADLINE_ENV}); it was waiting for ${waitingFor(got.body)}; ` +
              (gone ? `Job ${name} deleted` : `deleting it failed (${del.status}): kubectl delete job ${name}`),
          );
        }
        if (state.kind === 'running') continue;
        if (state.kind === 'failed') throw new Error(failureMessage(step, name, shards, state));
        break;
      }
      const seconds = (Date.now() - t0) / 1000;
      const del = await call('DELETE', `${jobs}/${name}`, { propagationPolicy: 'Background' });
      if (del.status !== 200 && del.status !== 202 && del.status !== 404) throw apiError(`delete Job ${name}`, del);
      steps.push({ name, stage: step.stage, step: step.step, seconds });
      log(`[k8s-driver] ${label}: complete in ${seconds.toFixed(0)}s; Job ${name} deleted`);
    } catch (error) {
      const message = (error as Error).message;
      log(`[k8s-driver] error: ${message}`);
      return { ok: false, steps, error: message };
    }
  }
  log(`[k8s-driver] done: ${steps.length} Jobs complete`);
  return { ok: true, steps };
}

async function main(): Promise<void> {
  const controller = new AbortController();
  // The CronJob's pod is stopped (deadline, deletion): the running Job goes too, not left writing.
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.on(s, () => controller.abort(s));
  try {
    const result = await runDriver({
      api: inClusterConfig(process.env),
      shards: shardCount(process.env),
      stepDeadlineSeconds: stepDeadline(process.env),
      ...(process.env[IMAGE_ENV] ? { image: process.env[IMAGE_ENV] } : {}),
      signal: controller.signal,
    });
    process.exitCode = result.ok ? 0 : 1;
  } catch (error) {
    console.log(`[k8s-driver] error: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main();
