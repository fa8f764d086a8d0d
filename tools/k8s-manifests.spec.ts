/**
 * The Kubernetes manifests of docker/k8s/ (no cluster runs here): every YAML document parses, passes
 * the Kubernetes schemas (tools/k8s-validate.mjs, kubernetes-models), and the references between
 * them hold: each Secret key, ConfigMap and PersistentVolumeClaim a workload uses is defined in
 * docker/k8s/, each Indexed Job runs as many pods at once as it has shards and hands the pod its index,
 * and each sharded stage has its shard Job and its merge Job with the same shard count.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DEFAULT_STEP_DEADLINE_SECONDS, jobFor, loadSteps, shardCount, stepDeadline } from './k8s-driver';

const K8S_DIR = path.join(__dirname, '..', 'docker', 'k8s');
const VALIDATOR = path.join(__dirname, 'k8s-validate.mjs');
/** The stages that issue 20 splits by customer into Indexed Jobs. */
const SHARDED_STAGES = ['ingest', 'features', 'build', 'evaluate'];

/* eslint-disable @typescript-eslint/no-explicit-any -- manifests are free-form YAML, checked by shape below */
type Manifest = Record<string, any>;
interface Doc {
  readonly source: string;
  readonly manifest: Manifest;
}

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) =>
      e.isDirectory() ? yamlFiles(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : [],
    )
    .sort();
}

/** Every non-empty document of every YAML file under dir; a YAML syntax error throws, naming the file. */
function loadManifests(dir: string): Doc[] {
  return yamlFiles(dir).flatMap((file) =>
    parseAllDocuments(fs.readFileSync(file, 'utf8')).flatMap((doc, i) => {
      if (doc.errors.length > 0)
        throw new Error(`${path.relative(dir, file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
      const manifest = doc.toJS() as Manifest | null;
      return manifest === null ? [] : [{ source: `${path.relative(dir, file)}#${i}`, manifest }];
    }),
  );
}

/** Schema errors per document, from the Kubernetes OpenAPI schemas; [] when all are valid. */
function schemaErrors(docs: readonly Doc[]): string[] {
  const run = spawnSync(process.execPath, [VALIDATOR], {
    input: JSON.stringify(docs),
    encoding: 'utf8',
    cwd: path.join(__dirname, '..'),
  });
  if (run.stdout.trim() === '') throw new Error(`k8s-validate.mjs failed: ${run.stderr}`);
  const results = JSON.parse(run.stdout) as { source: string; kind: string; name: string; errors: string[] }[];
  return results.flatMap((r) => r.errors.map((e) => `${r.source} ${r.kind}/${r.name}: ${e}`));
}

/** The pod spec a workload runs, or null for objects that run no pods. */
function podSpec(m: Manifest): Manifest | null {
  switch (m.kind) {
    case 'Pod':
      return m.spec ?? null;
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'ReplicaSet':
    case 'Job':
      return m.spec?.template?.spec ?? null;
    case 'CronJob':
      return m.spec?.jobTemplate?.spec?.template?.spec ?? null;
    default:
      return null;
  }
}

function containers(pod: Manifest): Manifest[] {
  return [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
}

function envValue(container: Manifest, name: string): string | undefined {
  return (container.env ?? []).find((e: Manifest) => e.name === name)?.value;
}

/** References from workloads to Secrets (and their keys), ConfigMaps and PVCs that no manifest defines. */
function missingReferences(docs: readonly Doc[]): string[] {
  const defined = (kind: string) =>
    new Map(docs.filter((d) => d.manifest.kind === kind).map((d) => [d.manifest.metadata?.name as string, d.manifest]));
  const secrets = defined('Secret');
  const configMaps = defined('ConfigMap');
  const claims = defined('PersistentVolumeClaim');
  const keysOf = (m: Manifest) => new Set([...Object.keys(m.data ?? {}), ...Object.keys(m.stringData ?? {})]);
  const problems: string[] = [];
  const need = (source: string, kind: string, objects: Map<string, Manifest>, name: string, key?: string) => {
    const object = objects.get(name);
    if (!object) problems.push(`${source}: ${kind} ${name} is not defined in docker/k8s/`);
    else if (key !== undefined && !keysOf(object).has(key))
      problems.push(`${source}: ${kind} ${name} has no key ${key}`);
  };
  for (const { source, manifest } of docs) {
    const pod = podSpec(manifest);
    if (!pod) continue;
    for (const c of containers(pod)) {
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s && !s.optional) need(source, 'Secret', secrets, s.name, s.key);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !cm.optional) need(source, 'ConfigMap', configMaps, cm.name, cm.key);
      }
      for (const from of c.envFrom ?? []) {
        if (from.secretRef && !from.secretRef.optional) need(source, 'Secret', secrets, from.secretRef.name);
        if (from.configMapRef && !from.configMapRef.optional)
          need(source, 'ConfigMap', configMaps, from.configMapRef.name);
      }
    }
    for (const v of pod.volumes ?? []) {
      if (v.persistentVolumeClaim) need(source, 'PersistentVolumeClaim', claims, v.persistentVolumeClaim.claimName);
      if (v.secret && !v.secret.optional) need(source, 'Secret', secrets, v.secret.secretName);
      if (v.configMap && !v.configMap.optional) need(source, 'ConfigMap', configMaps, v.configMap.name);
    }
    const mounted = new Set((pod.volumes ?? []).map((v: Manifest) => v.name));
    for (const c of containers(pod))
      for (const m of c.volumeMounts ?? [])
        if (!mounted.has(m.name)) problems.push(`${source}: container ${c.name} mounts undeclared volume ${m.name}`);
  }
  return problems;
}

/**
 * Indexed Jobs that would not shard as intended: completions != parallelism (shards would queue or
 * never all run), BOLSILLO_SHARDS != completions, no use of JOB_COMPLETION_INDEX, or a restart policy
 * other than Never (per-index retries need it).
 */
function indexedJobProblems(docs: readonly Doc[]): string[] {
  const problems: string[] = [];
  for (const { source, manifest } of docs) {
    if (manifest.kind !== 'Job' || manifest.spec?.completionMode !== 'Indexed') continue;
    const { completions, parallelism } = manifest.spec;
    if (!Number.isInteger(completions) || completions < 1)
      problems.push(`${source}: completions must be a positive integer, got ${completions}`);
    if (completions !== parallelism)
      problems.push(`${source}: completions (${completions}) != parallelism (${parallelism})`);
    const pod = podSpec(manifest)!;
    if (pod.restartPolicy !== 'Never')
      problems.push(`${source}: restartPolicy must be Never, got ${pod.restartPolicy}`);
    for (const c of pod.containers ?? []) {
      if (envValue(c, 'BOLSILLO_SHARDS') !== String(completions))
        problems.push(
          `${source}: container ${c.name} BOLSILLO_SHARDS (${envValue(c, 'BOLSILLO_SHARDS')}) != completions (${completions})`,
        );
      const reads = [...(c.command ?? []), ...(c.args ?? [])].some((a: string) => a.includes('JOB_COMPLETION_INDEX'));
      if (!reads) problems.push(`${source}: container ${c.name} does not read JOB_COMPLETION_INDEX`);
    }
  }
  return problems;
}

/** Each sharded stage needs an Indexed shard Job and a merge Job (running `--merge`) with the same BOLSILLO_SHARDS. */
function shardedStageProblems(docs: readonly Doc[]): string[] {
  const jobs = docs.filter((d) => d.manifest.kind === 'Job');
  const stageJob = (stage: string, step: string) =>
    jobs.find((d) => d.manifest.metadata?.labels?.stage === stage && d.manifest.metadata?.labels?.step === step);
  const problems: string[] = [];
  for (const stage of SHARDED_STAGES) {
    const shards = stageJob(stage, 'shards');
    const merge = stageJob(stage, 'merge');
    if (!shards || shards.manifest.spec?.completionMode !== 'Indexed') problems.push(`${stage}: no Indexed shard Job`);
    if (!merge) problems.push(`${stage}: no merge Job`);
    if (!shards || !merge) continue;
    const mergeContainers = podSpec(merge.manifest)!.containers ?? [];
    if (
      !mergeContainers.some((c: Manifest) =>
        [...(c.command ?? []), ...(c.args ?? [])].some((a: string) => a.includes('--merge')),
      )
    )
      problems.push(`${merge.source}: the merge Job does not run --merge`);
    for (const c of mergeContainers)
      if (envValue(c, 'BOLSILLO_SHARDS') !== String(shards.manifest.spec.completions))
        problems.push(
          `${merge.source}: BOLSILLO_SHARDS (${envValue(c, 'BOLSILLO_SHARDS')}) != the shard Job's completions (${shards.manifest.spec.completions})`,
        );
  }
  return problems;
}

describe('docker/k8s manifests', () => {
  const docs = loadManifests(K8S_DIR);
  const find = (kind: string, name: string) =>
    docs.find((d) => d.manifest.kind === kind && d.manifest.metadata?.name === name)?.manifest;

  it('parse, and hold the serving, daily, storage, secret and sharded-stage objects', () => {
    expect(docs.length).toBeGreaterThanOrEqual(20);
    expect(find('Deployment', 'bolsillo-api')).toBeDefined();
    expect(find('CronJob', 'bolsillo-daily-pipeline')).toBeDefined();
    expect(find('PersistentVolumeClaim', 'bolsillo-data')?.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(Object.keys(find('Secret', 'bolsillo')?.stringData ?? {}).sort()).toEqual(['admin-key', 'pseudonym-secret']);
  });

  it('pass the Kubernetes schemas', () => {
    expect(schemaErrors(docs)).toEqual([]);
  });

  it('define every Secret key, ConfigMap and PersistentVolumeClaim that a workload references', () => {
    expect(missingReferences(docs)).toEqual([]);
  });

  it('shard each of ingest, features, build and evaluate as an Indexed Job and merge it with the same shard count', () => {
    expect(indexedJobProblems(docs)).toEqual([]);
    expect(shardedStageProblems(docs)).toEqual([]);
  });

  it('run the daily CronJob as the driver of the sharded Jobs, with the shard count from the ConfigMap', () => {
    const cron = find('CronJob', 'bolsillo-daily-pipeline')!;
    const pod = podSpec(cron)!;
    const [driver] = pod.containers;
    expect(driver.command).toEqual(['node', 'node_modules/tsx/dist/cli.mjs', 'tools/k8s-driver.ts']);
    expect(fs.existsSync(path.join(__dirname, '..', driver.command[2]))).toBe(true);
    expect(cron.spec.concurrencyPolicy).toBe('Forbid');
    // The whole run ends before the next day's schedule, and leaves a stage its full step deadline.
    const runDeadline = cron.spec.jobTemplate.spec.activeDeadlineSeconds;
    expect(runDeadline).toBeLessThan(24 * 3600);
    expect(runDeadline).toBeGreaterThan(Number(find('ConfigMap', 'bolsillo-pipeline')!.data['step-deadline-seconds']));
    expect(driver.env).toContainEqual({
      name: 'BOLSILLO_SHARDS',
      valueFrom: { configMapKeyRef: { name: 'bolsillo-pipeline', key: 'shards' } },
    });
    expect(shardCount({ BOLSILLO_SHARDS: find('ConfigMap', 'bolsillo-pipeline')!.data.shards })).toBeGreaterThan(0);
    // The stage Jobs run the driver's own image.
    expect(envValue(driver, 'BOLSILLO_IMAGE')).toBe(driver.image);
    for (const { manifest } of docs.filter((d) => d.manifest.kind === 'Job'))
      for (const c of containers(podSpec(manifest)!)) expect(c.image).toBe(driver.image);
  });

  it('bound every stage Job by the step deadline of the ConfigMap, which the driver reads', () => {
    const driver = podSpec(find('CronJob', 'bolsillo-daily-pipeline')!)!.containers[0];
    expect(driver.env).toContainEqual({
      name: 'BOLSILLO_STEP_DEADLINE_SECONDS',
      valueFrom: { configMapKeyRef: { name: 'bolsillo-pipeline', key: 'step-deadline-seconds', optional: true } },
    });
    const setting = find('ConfigMap', 'bolsillo-pipeline')!.data['step-deadline-seconds'];
    const deadline = stepDeadline({ BOLSILLO_STEP_DEADLINE_SECONDS: setting });
    // The ConfigMap holds the default, and the manifests for runs by hand carry the same.
    expect(deadline).toBe(DEFAULT_STEP_DEADLINE_SECONDS);
    const jobs = docs.filter((d) => d.manifest.kind === 'Job');
    expect(jobs.length).toBeGreaterThan(0);
    for (const { source, manifest } of jobs)
      expect([source, manifest.spec.activeDeadlineSeconds]).toEqual([source, deadline]);
  });

  it("give the driver's service account create, get and delete on Jobs and nothing else", () => {
    const account = podSpec(find('CronJob', 'bolsillo-daily-pipeline')!)!.serviceAccountName;
    expect(find('ServiceAccount', account)).toBeDefined();
    const bindings = docs
      .map((d) => d.manifest)
      .filter((m) => ['RoleBinding', 'ClusterRoleBinding'].includes(m.kind))
      .filter((m) => m.subjects.some((s: Manifest) => s.kind === 'ServiceAccount' && s.name === account));
    expect(bindings.map((b) => [b.kind, b.roleRef.kind])).toEqual([['RoleBinding', 'Role']]);
    expect(find('Role', bindings[0]!.roleRef.name)!.rules).toEqual([
      { apiGroups: ['batch'], resources: ['jobs'], verbs: ['create', 'get', 'delete'] },
    ]);
    // Only the driver talks to the API: the stage pods mount no token.
    for (const { manifest } of docs.filter((d) => d.manifest.kind === 'Job'))
      expect(podSpec(manifest)!.automountServiceAccountToken).toBe(false);
  });

  it.each([1, 3, 'the ConfigMap value'] as const)(
    'the Jobs the driver creates for %s shard(s) pass the schemas and the shard checks',
    (setting) => {
      const shards =
        setting === 'the ConfigMap value'
          ? shardCount({ BOLSILLO_SHARDS: find('ConfigMap', 'bolsillo-pipeline')!.data.shards })
          : setting;
      const built: Doc[] = loadSteps(shards).map(({ step, manifest }) => ({
        source: `driver:${step.file}`,
        manifest: jobFor(manifest, step, shards, 'registry.example/bolsillo:1', 3600),
      }));
      expect(schemaErrors(built)).toEqual([]);
      expect(built.map((b) => b.manifest.spec.activeDeadlineSeconds)).toEqual(built.map(() => 3600));
      expect(missingReferences([...docs.filter((d) => d.manifest.kind !== 'Job'), ...built])).toEqual([]);
      expect(indexedJobProblems(built)).toEqual([]);
      if (shards > 1) expect(shardedStageProblems(built)).toEqual([]);
    },
  );

  it('point the autoscaler and the Service at the API Deployment', () => {
    const deployment = find('Deployment', 'bolsillo-api')!;
    expect(find('HorizontalPodAutoscaler', 'bolsillo-api')?.spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'bolsillo-api',
    });
    expect(deployment.spec.template.metadata.labels).toMatchObject(find('Service', 'bolsillo-api')!.spec.selector);
  });

  describe('reject broken manifests', () => {
    const shardJob = docs.find(
      (d) => d.manifest.metadata?.labels?.stage === 'build' && d.manifest.metadata?.labels?.step === 'shards',
    )!;
    const broken = (mutate: (m: Manifest) => void): Doc => {
      const manifest = structuredClone(shardJob.manifest);
      mutate(manifest);
      return { source: 'broken', manifest };
    };

    it('fails the schemas on a wrong type, a missing required field and an unknown kind', () => {
      expect(schemaErrors([broken((m) => (m.spec.completions = 'four'))]).join('\n')).toMatch(
        /completions must be integer/,
      );
      expect(schemaErrors([broken((m) => delete m.spec.template.spec.containers[0].name)]).join('\n')).toMatch(
        /must have required property 'name'|required property name/,
      );
      expect(schemaErrors([broken((m) => (m.kind = 'Jobb'))]).join('\n')).toMatch(/unknown apiVersion\/kind/);
    });

    it('finds a missing Secret key and an undefined claim', () => {
      const doc = broken((m) => {
        m.spec.template.spec.containers[0].env.push({
          name: 'X',
          valueFrom: { secretKeyRef: { name: 'bolsillo', key: 'no-such-key' } },
        });
        m.spec.template.spec.volumes[0].persistentVolumeClaim.claimName = 'no-such-claim';
      });
      expect(missingReferences([...docs, doc])).toEqual([
        'broken: Secret bolsillo has no key no-such-key',
        'broken: PersistentVolumeClaim no-such-claim is not defined in docker/k8s/',
      ]);
    });

    it('finds an Indexed Job whose parallelism, shard count or index use is off', () => {
      const doc = broken((m) => {
        m.spec.parallelism = 2;
        m.spec.template.spec.containers[0].env = [{ name: 'BOLSILLO_SHARDS', value: '3' }];
        m.spec.template.spec.containers[0].command = ['node', 'packages/build/src/cli.ts'];
      });
      expect(indexedJobProblems([doc])).toEqual([
        'broken: completions (4) != parallelism (2)',
        'broken: container build BOLSILLO_SHARDS (3) != completions (4)',
        'broken: container build does not read JOB_COMPLETION_INDEX',
      ]);
      expect(shardedStageProblems(docs.filter((d) => d.manifest.metadata?.labels?.step !== 'merge'))).toHaveLength(
        SHARDED_STAGES.length,
      );
    });
  });
});
