import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// The workspace's ESLint config enforces module boundaries by project tags: a stage imports only the
// shared libraries, a data stage never the model runtime, the API app only serve, monitor, evaluate
// and the shared libraries.
const root = path.resolve(__dirname, '../../..');

// ESLint runs as the CLI does (its config loader needs native ESM, which Jest's VM lacks). The report
// goes to a file: on a fresh clone Nx prints notices on stdout while it builds the project graph.
async function boundaryErrors(file: string, source: string): Promise<string[]> {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'eslint-')), 'report.json');
  try {
    execFileSync(
      process.execPath,
      [
        path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'),
        '--stdin',
        '--stdin-filename',
        path.join(root, file),
        '--format',
        'json',
        '--output-file',
        report,
      ],
      {
        cwd: root,
        input: source,
        stdio: ['pipe', 'ignore', 'ignore'],
      },
    );
  } catch {
    // Exit code 1 means lint errors were found; the report is still written.
  }
  const [result] = JSON.parse(fs.readFileSync(report, 'utf8')) as {
    messages: { ruleId: string | null; message: string }[];
  }[];
  return result!.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (ESLint)', () => {
  // The rule reads Nx's cached project graph and silently skips itself without one (a fresh clone):
  // let Nx write it first, as `npm run lint` does.
  beforeAll(() => {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), 'show', 'projects'],
      {
        cwd: root,
        env: { ...process.env, NX_DAEMON: 'false' },
        stdio: 'ignore',
      },
    );
  });

  it('fails a stage that imports another stage', async () => {
    const errors = await boundaryErrors(
      'packages/features/src/probe.ts',
      "import { runIngest } from '@bolsillo/ingest';\nexport const x = runIngest;\n",
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('type:stage');
  });

  it('lets a stage import the shared libraries', async () => {
    const errors = await boundaryErrors(
      'packages/features/src/probe.ts',
      "import { dataLayout } from '@bolsillo/core';\nimport { TARGET } from '@bolsillo/schema';\nexport const x = [dataLayout, TARGET];\n",
    );
    expect(errors).toEqual([]);
  });

  it('keeps the model runtime out of the data stages and core', async () => {
    const probe = "import { loadModel } from '@bolsillo/model';\nexport const x = loadModel;\n";
    for (const file of [
      'packages/ingest/src/probe.ts',
      'packages/features/src/probe.ts',
      'packages/build/src/probe.ts',
    ]) {
      const errors = await boundaryErrors(file, probe);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('type:model');
    }
    expect(await boundaryErrors('packages/core/src/probe.ts', probe)).toHaveLength(1);
  });

  it('lets a model stage and the API import the model runtime, and not the runtime a stage', async () => {
    const probe = "import { loadModel } from '@bolsillo/model';\nexport const x = loadModel;\n";
    expect(await boundaryErrors('packages/train/src/probe.ts', probe)).toEqual([]);
    expect(await boundaryErrors('apps/api/src/probe.ts', probe)).toEqual([]);
    expect(
      await boundaryErrors(
        'packages/model/src/probe.ts',
        "import { runTrain } from '@bolsillo/train';\nexport const x = runTrain;\n",
      ),
    ).toHaveLength(1);
  });

  it('lets the API import serve, monitor and evaluate (the admin routes run its gate) but not train', async () => {
    expect(
      await boundaryErrors(
        'apps/api/src/probe.ts',
        "import { renderMonitoringPage } from '@bolsillo/monitor';\nexport const x = renderMonitoringPage;\n",
      ),
    ).toEqual([]);
    expect(
      await boundaryErrors(
        'apps/api/src/probe.ts',
        "import { runForcePromote } from '@bolsillo/evaluate';\nexport const x = runForcePromote;\n",
      ),
    ).toEqual([]);
    expect(
      await boundaryErrors(
        'apps/api/src/probe.ts',
        "import { runTrain } from '@bolsillo/train';\nexport const x = runTrain;\n",
      ),
    ).toHaveLength(1);
  });
});
