import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registryLayout } from '@bolsillo/core';
import { auditTrail } from '@bolsillo/testing';
import type { ModelCard } from '@bolsillo/schema';
import { baselineArtifacts } from './artifacts';
import { loadModel } from './load-model';
import {
  completeAliasMove,
  listVersions,
  modelDir,
  newVersionId,
  promote,
  readAliases,
  readAudit,
  readCard,
  rollback,
  setAlias,
  writeModelVersion,
} from './registry';

function card(version: string, probability: number): ModelCard {
  return {
    version,
    created_at: '2024-01-01T00:00:00.000Z',
    family: 'prior',
    features: [],
    preprocessing: { none: true },
    calibration: { method: 'none' },
    threshold: 0.3,
    master_hash: 'abc',
    params: { probability },
    cv: {},
    metrics: { cv_pr_auc: probability },
    training_seconds: 0,
    backend: 'cpu',
    code_version: 'test',
  };
}

describe('model registry', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function register(at: string, p: number): Promise<string> {
    const v = newVersionId(new Date(at));
    await writeModelVersion(
      dir,
      card(v, p),
      baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: p }),
    );
    return v;
  }

  it('makes sortable version ids and refuses anything else as a folder name', () => {
    expect(newVersionId(new Date('2024-05-01T12:03:04.567Z'), 'a1b2c3')).toBe('20240501T120304Z-a1b2c3');
    expect(() => modelDir(dir, '../etc')).toThrow(/not a version id/);
  });

  it('lists versions oldest first, aliases atomically with an audit trail, promotes and rolls back', async () => {
    const v2 = await register('2024-02-01T00:00:00Z', 0.2);
    const v1 = await register('2024-01-01T00:00:00Z', 0.1);
    expect(listVersions(dir).map((c) => c.version)).toEqual([v1, v2]);
    expect(readAliases(dir)).toMatchObject({ champion: null, challenger: null, previous: null });

    setAlias(dir, 'challenger', v1, 'first model');
    promote(dir, v1, 'no champion yet');
    expect(readAliases(dir)).toMatchObject({ champion: v1, challenger: null, previous: null });
    promote(dir, v2, 'better on test');
    expect(readAliases(dir)).toMatchObject({ champion: v2, previous: v1 });
    rollback(dir, 'alarm: value dropped');
    expect(readAliases(dir)).toMatchObject({ champion: v1, previous: null });
    expect(() => rollback(dir, 'again')).toThrow(/no previous/);
    expect(() => setAlias(dir, 'champion', '20990101T000000Z-ffffff', 'x')).toThrow(/not registered/);
    expect(() => promote(dir, v2, ' ')).toThrow(/reason/);

    const audit = readAudit(dir);
    expect(audit.map((a) => a.action)).toEqual(['register', 'register', 'alias', 'promote', 'promote', 'rollback']);
    expect(audit[5]).toMatchObject({
      reason: 'alarm: value dropped',
      before: { champion: v2, previous: v1 },
      after: { champion: v1, previous: null },
    });
    expect(fs.readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('refuses to overwrite a version and rejects an invalid card', async () => {
    const v = await register('2024-01-01T00:00:00Z', 0.1);
    await expect(
      writeModelVersion(
        dir,
        card(v, 0.1),
        baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: 0.1 }),
      ),
    ).rejects.toThrow(/already exists/);
    const bad = {
      ...card(newVersionId(new Date('2024-03-01T00:00:00Z')), 0.1),
      threshold: 'high',
    } as unknown as ModelCard;
    await expect(
      writeModelVersion(
        dir,
        bad,
        baselineArtifacts({ format: 'bolsillo-baseline', family: 'prior', probability: 0.1 }),
      ),
    ).rejects.toThrow(/threshold/);
  });

  it('loads a baseline through loadModel, taking the threshold from decision.json when evaluate wrote one', async () => {
    const v = await register('2024-01-01T00:00:00Z', 0.125);
    let m = await loadModel(dir, v);
    expect(Array.from(m.predict([{}, { amount: 3 }]))).toEqual([0.125, 0.125]);
    expect(m.threshold).toBe(0.3);
    expect(m.contributions({})).toBeNull();
    const decisionFile = path.join(modelDir(dir, v), 'decision.json');
    fs.writeFileSync(
      decisionFile,
      JSON.stringify({ threshold: 0.42, objective: 'value', value_matrix: { tp: 1, fp: -0.1, fn: -1, tn: 0 } }),
    );
    m = await loadModel(dir, v);
    expect(m.threshold).toBe(0.42);
    expect(readCard(dir, v).params).toEqual({ probability: 0.125 });
    // A decision that is not evaluate's contract is refused, naming the file and the field, rather than ignored.
    fs.writeFileSync(decisionFile, JSON.stringify({ threshold: '0.42', objective: 'value' }));
    await expect(loadModel(dir, v)).rejects.toThrow(
      `${decisionFile} is not a valid Decision: /value_matrix is required; /threshold must be a number (got "0.42")`,
    );
  });

  it('cuts a torn last line of the trail before appending, so it never ends up mid-file', async () => {
    const v1 = await register('2024-01-01T00:00:00Z', 0.1);
    fs.appendFileSync(registryLayout(dir).registryAudit, '{"ts":"2024-');
    expect(readAudit(dir).map((e) => e.action)).toEqual(['register']);
    promote(dir, v1, 'first');
    expect(readAudit(dir).map((e) => e.action)).toEqual(['register', 'promote']);
  });

  // A writer stopped at each point of an alias move (the fs call there throws, leaving the files as a
  // SIGKILL would; the SIGKILL itself: evaluate's shards-crash.spec.ts), then the next write: trail and
  // aliases equal a registry's where the move ran whole, or never started.
  describe.each<[MovePoint, boolean]>([
    ['before aliases.json', false],
    ['between aliases.json and the trail', true],
    ['after the trail', true],
  ])('a promotion stopped %s', (point, happened) => {
    afterEach(() => jest.restoreAllMocks());

    it(happened ? 'happened: readers see it audited, the next write audits it once' : 'never happened', async () => {
      const v1 = await register('2024-01-01T00:00:00Z', 0.1);
      const v2 = await register('2024-02-01T00:00:00Z', 0.2);
      promote(dir, v1, 'first');
      const stopped = fs.mkdtempSync(path.join(os.tmpdir(), 'registry-stopped-'));
      fs.cpSync(dir, stopped, { recursive: true });
      if (happened) promote(dir, v2, 'better');
      setAlias(dir, 'challenger', v1, 'next');

      stopAt(point);
      expect(() => promote(stopped, v2, 'better')).toThrow(`stopped ${point}`);
      jest.restoreAllMocks();
      const aliases = readAliases(stopped);
      expect(aliases.champion).toBe(happened ? v2 : v1);
      // What readers see already: the trail's last entry is the move aliases.json shows.
      expect(readAudit(stopped).at(-1)).toMatchObject({
        action: 'promote',
        ts: aliases.updated_at,
        after: { champion: aliases.champion, challenger: aliases.challenger, previous: aliases.previous },
      });
      setAlias(stopped, 'challenger', v1, 'next');
      expect(auditTrail(stopped)).toEqual(auditTrail(dir));
      expect(readAudit(stopped).length).toBe(auditTrail(dir).length);
      const { updated_at: _stopped, ...after } = readAliases(stopped);
      const { updated_at: _clean, ...clean } = readAliases(dir);
      expect(after).toEqual(clean);
      expect(fs.existsSync(registryLayout(stopped).registryAliasMove)).toBe(false);
      expect(completeAliasMove(stopped)).toBeNull();
      fs.rmSync(stopped, { recursive: true, force: true });
    });
  });
});

type MovePoint = 'before aliases.json' | 'between aliases.json and the trail' | 'after the trail';

/** Make the fs call at `point` of an alias move throw, leaving the registry's files as a SIGKILL there would. */
function stopAt(point: MovePoint): void {
  const stop = (name: 'renameSync' | 'appendFileSync' | 'rmSync', at: (args: unknown[]) => boolean) => {
    const real = fs[name] as (...args: unknown[]) => unknown;
    jest.spyOn(fs, name).mockImplementation(((...args: unknown[]) => {
      if (at(args)) throw new Error(`stopped ${point}`);
      return real.apply(fs, args);
    }) as never);
  };
  const named = (file: string) => (arg: unknown) => path.basename(String(arg)) === file;
  if (point === 'before aliases.json') stop('renameSync', (args) => named('aliases.json')(args[1]));
  else if (point === 'after the trail') stop('rmSync', (args) => named('.alias-move.json')(args[0]));
  else stop('appendFileSync', (args) => named('audit.jsonl')(args[0]));
}
