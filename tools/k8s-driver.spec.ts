/**
 * tools/k8s-driver.ts, the daily CronJob's driver, without a cluster: the Jobs it builds from
 * docker/k8s/sharded/ (shard count and image written in, order of the stages), and whole runs against
 * a small fake Kubernetes API (node http) that records the requests and completes or fails the Jobs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MAX_SHARDS as CORE_MAX_SHARDS, SHARDS_ENV as CORE_SHARDS_ENV } from '@bolsillo/core';
import {
  DEFAULT_STEP_DEADLINE_SECONDS,
  MAX_SHARDS,
  SHARDS_ENV,
  failureMessage,
  jobFor,
  jobState,
  loadSteps,
  parseIndexes,
  planSteps,
  runDriver,
  shardCount,
  stepDeadline,
  waitingFor,
  type Manifest,
} from './k8s-driver';

const env = (c: Manifest, name: string) => ((c.env ?? []) as Manifest[]).find((e) => e.name === name)?.value;
const containersOf = (job: Manifest): Manifest[] => job.spec.template.spec.containers;

describe('k8s driver: the Jobs of a run', () => {
  it('shares the shard setting with the stages', () => {
    expect([SHARDS_ENV, MAX_SHARDS]).toEqual([CORE_SHARDS_ENV, CORE_MAX_SHARDS]);
  });

  it('runs the stages in pipeline order, each sharded stage as its shards then its merge', () => {
    expect(planSteps(4).map((s) => `${s.stage}:${s.step}`)).toEqual([
      'ingest:shards',
      'ingest:merge',
      'features:shards',
      'features:merge',
      'build:shards',
      'build:merge',
      'train:one',
      'evaluate:shards',
      'evaluate:merge',
      'monitor:one',
    ]);
    // One shard: one pod per stage (`--shard 0/1` is the whole stage), nothing to merge.
    expect(planSteps(1).map((s) => s.file)).toEqual([
      'ingest-shards.yaml',
      'features-shards.yaml',
      'build-shards.yaml',
      'train.yaml',
      'evaluate-shards.yaml',
      'monitor.yaml',
    ]);
  });

  it('reads the shard count from the ConfigMap value, and refuses anything but 1..1024', () => {
    expect(shardCount({ BOLSILLO_SHARDS: '4' })).toBe(4);
    expect(shardCount({ BOLSILLO_SHARDS: ' 16\n' })).toBe(16);
    for (const bad of [undefined, '', '0', 'four', '2.5', '-1', '1025'])
      expect(() => shardCount({ BOLSILLO_SHARDS: bad })).toThrow(/must be a whole number 1\.\.1024/);
  });

  it('reads the step deadline from the ConfigMap value, 6 h when unset, and refuses anything but 1 s..7 days', () => {
    expect(stepDeadline({})).toBe(DEFAULT_STEP_DEADLINE_SECONDS);
    expect(stepDeadline({ BOLSILLO_STEP_DEADLINE_SECONDS: '' })).toBe(6 * 3600);
    expect(stepDeadline({ BOLSILLO_STEP_DEADLINE_SECONDS: ' 900\n' })).toBe(900);
    for (const bad of ['0', '1h', '2.5', '-1', '604801'])
      expect(() => stepDeadline({ BOLSILLO_STEP_DEADLINE_SECONDS: bad })).toThrow(/step-deadline-seconds\) must be/);
  });

  it('writes the step deadline into every Job as activeDeadlineSeconds', () => {
    for (const { step, manifest } of loadSteps(3))
      expect(jobFor(manifest, step, 3, undefined, 900).spec.activeDeadlineSeconds).toBe(900);
  });

  it('says what a running Job waits for: its pods, and why when they are not ready', () => {
    expect(waitingFor({ spec: { completions: 4 }, status: { active: 4, ready: 1, succeeded: 0 } })).toBe(
      '4 pod(s) to complete: 0 succeeded, 4 active (1 ready), 0 failed; pods not ready are Pending or starting: ' +
        'a PersistentVolumeClaim not bound, no node with room, an image not pulled?',
    );
    expect(waitingFor({ spec: {}, status: {} })).toBe(
      '1 pod(s) to complete: 0 succeeded, 0 active (0 ready), 0 failed; no pod running: the Job controller created none (quota, admission)?',
    );
    expect(waitingFor({ spec: { completions: 2 }, status: { active: 1, ready: 1, succeeded: 1 } })).toBe(
      '2 pod(s) to complete: 1 succeeded, 1 active (1 ready), 0 failed',
    );
  });

  it.each([1, 3, 7])(
    'writes %i shards into completions, parallelism and BOLSILLO_SHARDS of every shard and merge Job',
    (n) => {
      const jobs = loadSteps(n).map(({ step, manifest }) => ({ step, job: jobFor(manifest, step, n, 'reg/b:1') }));
      for (const { step, job } of jobs) {
        expect(job.metadata.labels.stage).toBe(step.stage);
        for (const c of containersOf(job)) {
          expect(c.image).toBe('reg/b:1');
          expect(env(c, 'BOLSILLO_SHARDS')).toBe(step.step === 'one' ? undefined : String(n));
          expect(((c.env ?? []) as Manifest[]).filter((e) => e.name === 'BOLSILLO_SHARDS').length).toBeLessThanOrEqual(
            1,
          );
        }
        if (step.step === 'shards') expect([job.spec.completions, job.spec.parallelism]).toEqual([n, n]);
        else expect(job.spec.completionMode).toBeUndefined();
      }
      // The other settings of the manifests stay as they are (the ingest Secret, the volume).
      const ingest = jobs[0]!.job;
      expect(containersOf(ingest)[0]!.env).toContainEqual({
        name: 'BOLSILLO_PSEUDONYM_SECRET',
        valueFrom: { secretKeyRef: { name: 'bolsillo', key: 'pseudonym-secret' } },
      });
      expect(ingest.spec.template.spec.volumes).toEqual([
        { name: 'data', persistentVolumeClaim: { claimName: 'bolsillo-data' } },
      ]);
    },
  );

  it('leaves the manifest it reads unchanged, and refuses a manifest that does not fit its step', () => {
    const { step, manifest } = loadSteps(2)[0]!;
    const before = structuredClone(manifest);
    jobFor(manifest, step, 9, 'x');
    expect(manifest).toEqual(before);
    expect(() => jobFor({ ...manifest, kind: 'Pod' }, step, 2)).toThrow('ingest-shards.yaml: expected a Job, got Pod');
    const merge = loadSteps(2)[1]!;
    expect(() => jobFor(merge.manifest, { ...merge.step, step: 'shards' }, 2)).toThrow('needs an Indexed Job');
  });

  it('reads a Job status: running, complete, failed with the failed indexes', () => {
    expect(jobState({})).toEqual({ kind: 'running' });
    expect(jobState({ status: { conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }] } })).toEqual({
      kind: 'running',
    });
    expect(jobState({ status: { conditions: [{ type: 'Complete', status: 'True' }] } })).toEqual({ kind: 'complete' });
    const failed = jobState({
      status: {
        failedIndexes: '1,3-4',
        conditions: [
          { type: 'FailureTarget', status: 'True' },
          { type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' },
        ],
      },
    });
    expect(failed).toEqual({ kind: 'failed', reason: 'FailedIndexes: Job has failed indexes', failedIndexes: '1,3-4' });
    expect(parseIndexes('1,3-5')).toEqual([1, 3, 4, 5]);
    expect(parseIndexes('')).toEqual([]);
  });

  it('names the stage, the step and the failed shard in a failure', () => {
    const build = planSteps(4).find((s) => s.stage === 'build' && s.step === 'shards')!;
    expect(
      failureMessage(build, 'bolsillo-build-shards', 4, {
        kind: 'failed',
        reason: 'FailedIndexes',
        failedIndexes: '2',
      }),
    ).toBe(
      'build: shard 2 of 4 failed (Job bolsillo-build-shards: FailedIndexes); logs: ' +
        'kubectl logs -l job-name=bolsillo-build-shards,batch.kubernetes.io/job-completion-index=2',
    );
    expect(failureMessage(build, 'b', 4, { kind: 'failed', reason: 'FailedIndexes', failedIndexes: '0,2-3' })).toMatch(
      /^build: shards 0, 2, 3 of 4 failed/,
    );
    const merge = planSteps(4).find((s) => s.stage === 'evaluate' && s.step === 'merge')!;
    expect(
      failureMessage(merge, 'bolsillo-evaluate-merge', 4, {
        kind: 'failed',
        reason: 'BackoffLimitExceeded',
        failedIndexes: '',
      }),
    ).toBe(
      'evaluate: the merge failed (Job bolsillo-evaluate-merge: BackoffLimitExceeded); logs: kubectl logs job/bolsillo-evaluate-merge',
    );
  });
});

/** What the fake API server saw. */
interface Request {
  readonly method: string;
  readonly path: string;
  readonly auth: string | undefined;
  readonly body: Manifest | undefined;
}

/**
 * A fake Kubernetes API for Jobs in namespace `ns`: POST creates a Job with no status; each GET of a
 * Job advances it, and its second GET finds it complete (or failed, as `outcome` says); DELETE removes
 * it (Foreground: after one more GET, as Kubernetes first deletes the pods).
 */
async function fakeApi(outcome: (name: string) => Manifest | 'complete' = () => 'complete') {
  const requests: Request[] = [];
  const jobs = new Map<string, { job: Manifest; gets: number; deleting: boolean }>();
  const prefix = '/apis/batch/v1/namespaces/ns/jobs';
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = text ? (JSON.parse(text) as Manifest) : undefined;
      requests.push({ method: req.method!, path: req.url!, auth: req.headers.authorization, body });
      const answer = (status: number, json: Manifest) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const name = req.url!.startsWith(`${prefix}/`) ? req.url!.slice(prefix.length + 1) : '';
      const entry = jobs.get(name);
      if (req.method === 'POST' && req.url === prefix) {
        const jobName = body!.metadata.name as string;
        if (jobs.has(jobName)) return answer(409, { message: `jobs.batch "${jobName}" already exists` });
        jobs.set(jobName, { job: { ...body, status: {} }, gets: 0, deleting: false });
        return answer(201, jobs.get(jobName)!.job);
      }
      if (!entry) return answer(404, { message: `jobs.batch "${name}" not found` });
      if (req.method === 'GET') {
        if (entry.deleting) {
          jobs.delete(name);
          return answer(200, entry.job);
        }
        entry.gets += 1;
        if (entry.gets >= 2 && !entry.job.status.conditions) {
          const o = outcome(name);
          entry.job.status = o === 'complete' ? { conditions: [{ type: 'Complete', status: 'True' }] } : o;
        }
        return answer(200, entry.job);
      }
      if (req.method === 'DELETE') {
        if (body?.propagationPolicy === 'Foreground') entry.deleting = true;
        else jobs.delete(name);
        return answer(200, { kind: 'Status', status: 'Success' });
      }
      return answer(405, { message: 'method not allowed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    requests,
    jobs,
    api: { base: `http://127.0.0.1:${port}`, token: () => 'sa-token', namespace: 'ns' },
    // Keep-alive connections of a driver still polling would hold close() open.
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const created = (requests: readonly Request[]) =>
  requests.filter((r) => r.method === 'POST').map((r) => r.body!.metadata.name as string);

describe('k8s driver against a fake API server', () => {
  it('creates, waits for and deletes every Job in order with the configured shard count', async () => {
    const fake = await fakeApi();
    const lines: string[] = [];
    try {
      const result = await runDriver({
        api: fake.api,
        shards: 3,
        image: 'registry.example/bolsillo:2026.12',
        pollMs: 1,
        log: (l) => lines.push(l),
      });
      expect(result.ok).toBe(true);
      expect(created(fake.requests)).toEqual([
        'bolsillo-ingest-shards',
        'bolsillo-ingest-merge',
        'bolsillo-features-shards',
        'bolsillo-features-merge',
        'bolsillo-build-shards',
        'bolsillo-build-merge',
        'bolsillo-train',
        'bolsillo-evaluate-shards',
        'bolsillo-evaluate-merge',
        'bolsillo-monitor',
      ]);
      expect(result.steps.map((s) => s.name)).toEqual(created(fake.requests));
      for (const r of fake.requests.filter((q) => q.method === 'POST')) {
        const job = r.body!;
        if (job.spec.completionMode === 'Indexed') expect([job.spec.completions, job.spec.parallelism]).toEqual([3, 3]);
        for (const c of containersOf(job)) {
          expect(c.image).toBe('registry.example/bolsillo:2026.12');
          if (job.metadata.labels.step) expect(env(c, 'BOLSILLO_SHARDS')).toBe('3');
        }
      }
      // Each Job is created only after the one before it was complete and deleted.
      const trace = fake.requests.map((r) => `${r.method} ${r.path.split('/').pop()}`);
      expect(trace.slice(0, 6)).toEqual([
        'GET bolsillo-ingest-shards',
        'POST jobs',
        'GET bolsillo-ingest-shards',
        'GET bolsillo-ingest-shards',
        'DELETE bolsillo-ingest-shards',
        'GET bolsillo-ingest-merge',
      ]);
      expect(fake.requests.every((r) => r.auth === 'Bearer sa-token')).toBe(true);
      expect(fake.jobs.size).toBe(0);
      expect(lines.at(-1)).toBe('[k8s-driver] done: 10 Jobs complete');
    } finally {
      await fake.close();
    }
  });

  it('stops at a failed shard, naming the stage and the index, and leaves that Job for its logs', async () => {
    const fake = await fakeApi((name) =>
      name === 'bolsillo-build-shards'
        ? {
            failedIndexes: '2',
            conditions: [
              { type: 'Failed', status: 'True', reason: 'FailedIndexes', message: 'Job has failed indexes' },
            ],
          }
        : 'complete',
    );
    const lines: string[] = [];
    try {
      const result = await runDriver({ api: fake.api, shards: 4, pollMs: 1, log: (l) => lines.push(l) });
      expect(result.ok).toBe(false);
      expect(result.error).toBe(
        'build: shard 2 of 4 failed (Job bolsillo-build-shards: FailedIndexes: Job has failed indexes); ' +
          'logs: kubectl logs -l job-name=bolsillo-build-shards,batch.kubernetes.io/job-completion-index=2',
      );
      expect(lines.at(-1)).toBe(`[k8s-driver] error: ${result.error}`);
      expect(created(fake.requests).at(-1)).toBe('bolsillo-build-shards');
      expect(created(fake.requests)).toHaveLength(5);
      expect([...fake.jobs.keys()]).toEqual(['bolsillo-build-shards']);
    } finally {
      await fake.close();
    }
  });

  it('with one shard runs one pod per stage and no merge', async () => {
    const fake = await fakeApi();
    try {
      const result = await runDriver({ api: fake.api, shards: 1, pollMs: 1, log: () => undefined });
      expect(result.ok).toBe(true);
      const posts = fake.requests.filter((r) => r.method === 'POST').map((r) => r.body!);
      expect(posts.map((j) => j.metadata.name)).toEqual([
        'bolsillo-ingest-shards',
        'bolsillo-features-shards',
        'bolsillo-build-shards',
        'bolsillo-train',
        'bolsillo-evaluate-shards',
        'bolsillo-monitor',
      ]);
      for (const j of posts.filter((p) => p.spec.completionMode === 'Indexed')) {
        expect([j.spec.completions, j.spec.parallelism]).toEqual([1, 1]);
        expect(env(containersOf(j)[0]!, 'BOLSILLO_SHARDS')).toBe('1');
      }
    } finally {
      await fake.close();
    }
  });

  it("deletes an earlier run's finished Job before creating its own, and refuses while one still runs", async () => {
    const fake = await fakeApi();
    try {
      fake.jobs.set('bolsillo-ingest-shards', {
        job: {
          metadata: { name: 'bolsillo-ingest-shards' },
          status: { conditions: [{ type: 'Failed', status: 'True' }] },
        },
        gets: 0,
        deleting: false,
      });
      fake.jobs.set('bolsillo-features-shards', {
        job: { metadata: { name: 'bolsillo-features-shards' }, status: { active: 2 } },
        gets: -100,
        deleting: false,
      });
      const result = await runDriver({ api: fake.api, shards: 2, pollMs: 1, log: () => undefined });
      const trace = fake.requests.map((r) => `${r.method} ${r.path.split('/').pop()}`);
      expect(trace.slice(0, 4)).toEqual([
        'GET bolsillo-ingest-shards',
        'DELETE bolsillo-ingest-shards',
        'GET bolsillo-ingest-shards',
        'GET bolsillo-ingest-shards',
      ]);
      expect(fake.requests[1]!.body).toEqual({ propagationPolicy: 'Foreground' });
      expect(result.ok).toBe(false);
      expect(result.error).toBe(
        'features shards: Job bolsillo-features-shards of an earlier run is still running; ' +
          'wait for it or delete it (kubectl delete job bolsillo-features-shards)',
      );
      expect(created(fake.requests)).toEqual(['bolsillo-ingest-shards', 'bolsillo-ingest-merge']);
    } finally {
      await fake.close();
    }
  });

  it('stopped by a signal, deletes the running Job and reports it', async () => {
    const fake = await fakeApi(() => ({}));
    const controller = new AbortController();
    try {
      const run = runDriver({ api: fake.api, shards: 2, pollMs: 5, log: () => undefined, signal: controller.signal });
      while (!fake.jobs.has('bolsillo-ingest-shards')) await new Promise((r) => setTimeout(r, 2));
      controller.abort('SIGTERM');
      const result = await run;
      expect(result.error).toBe('ingest shards: stopped (SIGTERM); Job bolsillo-ingest-shards deleted');
      expect(fake.jobs.size).toBe(0);
      expect(created(fake.requests)).toEqual(['bolsillo-ingest-shards']);
    } finally {
      await fake.close();
    }
  });

  it('stops at a Job whose pods stay Pending past the step deadline, names it and what it waited for, and deletes it', async () => {
    // Never finishes: its pods stay Pending (no PersistentVolumeClaim, no node), and Kubernetes never ends it.
    const fake = await fakeApi(() => ({ active: 2, ready: 0 }));
    const lines: string[] = [];
    try {
      const result = await runDriver({
        api: fake.api,
        shards: 2,
        pollMs: 5,
        stepDeadlineSeconds: 1,
        graceMs: 0,
        log: (l) => lines.push(l),
      });
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(
        /^ingest shards: Job bolsillo-ingest-shards still running 1 s after it was created, past the step deadline of 1 s \(BOLSILLO_STEP_DEADLINE_SECONDS\); it was waiting for 2 pod\(s\) to complete: 0 succeeded, 2 active \(0 ready\), 0 failed; pods not ready are Pending or starting: .*; Job bolsillo-ingest-shards deleted$/,
      );
      expect(lines.at(-1)).toBe(`[k8s-driver] error: ${result.error}`);
      expect(created(fake.requests)).toEqual(['bolsillo-ingest-shards']);
      expect(fake.requests.find((r) => r.method === 'POST')!.body!.spec.activeDeadlineSeconds).toBe(1);
      expect(fake.requests.at(-1)).toMatchObject({ method: 'DELETE', body: { propagationPolicy: 'Background' } });
      expect(fake.jobs.size).toBe(0);
    } finally {
      await fake.close();
    }
  }, 10_000);

  it('reports a Job that Kubernetes failed at its deadline as a failed step, and leaves it for its events', async () => {
    const fake = await fakeApi((name) =>
      name === 'bolsillo-train'
        ? {
            conditions: [
              {
                type: 'Failed',
                status: 'True',
                reason: 'DeadlineExceeded',
                message: 'Job was active longer than specified deadline',
              },
            ],
          }
        : 'complete',
    );
    try {
      const result = await runDriver({ api: fake.api, shards: 2, pollMs: 1, log: () => undefined });
      expect(result.error).toBe(
        'train: the stage failed (Job bolsillo-train: DeadlineExceeded: Job was active longer than specified deadline); ' +
          'step deadline (BOLSILLO_STEP_DEADLINE_SECONDS); events: kubectl describe job/bolsillo-train',
      );
      expect([...fake.jobs.keys()]).toEqual(['bolsillo-train']);
      const posts = fake.requests.filter((r) => r.method === 'POST');
      expect(posts.every((r) => r.body!.spec.activeDeadlineSeconds === DEFAULT_STEP_DEADLINE_SECONDS)).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it('reports an API refusal (e.g. missing rights) with its status and message', async () => {
    const server = http.createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'jobs.batch is forbidden: User "system:serviceaccount:ns:x" cannot get' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runDriver({
        api: { base: `http://127.0.0.1:${port}`, token: () => 't', namespace: 'ns' },
        shards: 2,
        pollMs: 1,
        log: () => undefined,
      });
      expect(result.error).toBe(
        'read Job bolsillo-ingest-shards: the API answered 403 (jobs.batch is forbidden: User "system:serviceaccount:ns:x" cannot get)',
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
