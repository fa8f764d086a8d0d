/**
 * A stage's CLI in its own process, as a Kubernetes Job runs it, for the specs that kill a stage with
 * SIGKILL (a pod evicted, a node lost) and check that a rerun repairs it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/**
 * Run `packages/<stage>/src/cli.ts` with `args`. The CLI runs in that one process under tsx's loader
 * (tsx's own CLI would run it in a child, which a SIGKILL of the parent leaves running). With
 * `killWhen`, the process is killed with SIGKILL as soon as it returns true (polled every 2 ms).
 * Resolves with the exit code (null when killed) when it is `expected`, otherwise with a message
 * holding the exit code and the end of the error output.
 */
export function runStageCli(
  stage: string,
  args: readonly string[],
  env: Record<string, string>,
  killWhen?: () => boolean,
  expected: number | null = killWhen ? null : 0,
): Promise<number | null | string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'packages', stage, 'src', 'cli.ts'), ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = killWhen
      ? setInterval(() => {
          if (!killWhen()) return;
          clearInterval(timer);
          child.kill('SIGKILL');
        }, 2)
      : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearInterval(timer);
      resolve(code === expected ? code : `${stage} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`);
    });
  });
}

/** Temporaries a killed writer leaves (`.<name>.tmp-<pid>-…`) anywhere under dir. */
export function temporaries(dir: string): string[] {
  return fs.existsSync(dir)
    ? fs
        .readdirSync(dir, { withFileTypes: true, recursive: true })
        .filter((e) => e.name.includes('.tmp-'))
        .map((e) => e.name)
    : [];
}

/**
 * The environment that makes a process (a stage CLI run by {@link runStageCli}) kill itself with SIGKILL
 * instead of appending a line containing `text` to the file named `fileName`, through the preload
 * tools/testing/kill-at-append.js.
 *
 * @example runStageCli('evaluate', [], { DATA_DIR: data, ...killAtAppend('audit.jsonl', '"action":"promote"') })
 */
export function killAtAppend(fileName: string, text: string): Record<string, string> {
  const preload = `--require ${path.join(__dirname, 'kill-at-append.js')}`;
  return {
    NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' '),
    BOLSILLO_KILL_AT_APPEND: `${fileName}:${text}`,
  };
}
