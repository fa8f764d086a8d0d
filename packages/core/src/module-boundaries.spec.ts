import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The workspace's ESLint config enforces module boundaries by project tags: a stage imports only the
// shared libraries, the API app only serve, monitor and the shared libraries.
const root = path.resolve(__dirname, '../../..');

// ESLint runs as the CLI does (its config loader needs native ESM, which Jest's VM lacks).
async function boundaryErrors(file: string, source: string): Promise<string[]> {
  let out: string;
  try {
    out = execFileSync(process.execPath, [path.join(root, 'node_modules', 'eslint', 'bin', 'eslint.js'), '--stdin', '--stdin-filename', path.join(root, file), '--format', 'json'], {
      cwd: root,
      input: source,
      encoding: 'utf8',
    });
  } catch (error) {
    // Exit code 1 means lint errors were found; the report is still on stdout.
    out = (error as { stdout: string }).stdout;
  }
  const [result] = JSON.parse(out) as { messages: { ruleId: string | null; message: string }[] }[];
  return result!.messages.filter((m) => m.ruleId === '@nx/enforce-module-boundaries').map((m) => m.message);
}

describe('module boundaries (ESLint)', () => {
  it('fails a stage that imports another stage', async () => {
    const errors = await boundaryErrors('packages/features/src/probe.ts', "import { runIngest } from '@bolsillo/ingest';\nexport const x = runIngest;\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('type:stage');
  });

  it('lets a stage import the shared libraries', async () => {
    const errors = await boundaryErrors('packages/features/src/probe.ts', "import { dataLayout } from '@bolsillo/core';\nimport { TARGET } from '@bolsillo/schema';\nexport const x = [dataLayout, TARGET];\n");
    expect(errors).toEqual([]);
  });

  it('lets the API import serve and monitor but not train', async () => {
    expect(await boundaryErrors('apps/api/src/probe.ts', "import { renderMonitoringPage } from '@bolsillo/monitor';\nexport const x = renderMonitoringPage;\n")).toEqual([]);
    expect(await boundaryErrors('apps/api/src/probe.ts', "import { runTrain } from '@bolsillo/train';\nexport const x = runTrain;\n")).toHaveLength(1);
  });
});
