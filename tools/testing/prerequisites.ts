/**
 * One rule for tests that need something outside the repository: a browser (headless Chromium) or
 * the real MiBolsillo file. Such a test runs when its prerequisite is found; otherwise it is skipped
 * with the reason in its title, and tools/jest-skip-reporter.js lists every skipped test with its
 * reason at the end of the run. Under REQUIRE_BROWSER=1 / REQUIRE_REAL_DATA=1 (CI) a missing
 * prerequisite fails the test instead.
 *
 * Where each is looked for:
 * - browser: `CHROMIUM_PATH` when set (and only there), else `/usr/bin/chromium` (Debian's package);
 * - real data: `BOLSILLO_REAL_DATA` when set (and only there), else `../shared/data/real/MiBolsillo.csv`
 *   next to the repository root.
 *
 * @example
 * import { browserPath, itBrowser } from '@bolsillo/testing';
 * itBrowser('renders in Chromium', async () => { const browser = await chromium.launch({ executablePath: browserPath() }); ... });
 */
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (this file is tools/testing/prerequisites.ts). */
const ROOT = path.resolve(__dirname, '../..');

/** What a gated test needs, where it was looked for, and whether the run insists on it. */
export interface Prerequisite {
  /** Short name used in messages: "browser" or "real data". */
  readonly name: string;
  /** The path that was looked at. */
  readonly path: string;
  readonly found: boolean;
  /** The run must have it (REQUIRE_BROWSER=1 / REQUIRE_REAL_DATA=1): a missing one fails. */
  readonly required: boolean;
  /** Why it is missing ('' when found), in words a reader of the test summary can act on. */
  readonly reason: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function locate(
  name: string,
  envVar: string,
  fallback: string,
  requireVar: string,
  hint: string,
  env: Env,
): Prerequisite {
  const fromEnv = env[envVar];
  const where = fromEnv ? path.resolve(fromEnv) : fallback;
  const found = fs.existsSync(where);
  const source = fromEnv ? `${envVar}=${fromEnv}` : `${where} (set ${envVar} to look elsewhere)`;
  return {
    name,
    path: where,
    found,
    required: env[requireVar] === '1',
    reason: found ? '' : `no ${name}: ${source} not found; ${hint}`,
  };
}

/** Headless Chromium: `CHROMIUM_PATH` exclusively when set, else Debian's `/usr/bin/chromium`. */
export function findBrowser(env: Env = process.env): Prerequisite {
  return locate(
    'browser',
    'CHROMIUM_PATH',
    '/usr/bin/chromium',
    'REQUIRE_BROWSER',
    'install it with apt-get install -y chromium',
    env,
  );
}

/** The real MiBolsillo file: `BOLSILLO_REAL_DATA` exclusively when set, else `../shared/data/real/MiBolsillo.csv` from the repository root. */
export function findRealData(env: Env = process.env): Prerequisite {
  const fallback = path.resolve(ROOT, '../shared/data/real/MiBolsillo.csv');
  return locate(
    'real data',
    'BOLSILLO_REAL_DATA',
    fallback,
    'REQUIRE_REAL_DATA',
    'it lives outside the repository',
    env,
  );
}

/** How a gated test is registered: as is, skipped with its reason, or failing because the run requires it. */
export type Gate = 'run' | 'skip' | 'fail';

export function gate(prerequisite: Prerequisite): Gate {
  if (prerequisite.found) return 'run';
  return prerequisite.required ? 'fail' : 'skip';
}

/** The title a skipped test gets; the skip reporter reads the reason back from it. */
export function skippedTitle(title: string, reason: string): string {
  return `${title} [skipped: ${reason}]`;
}

function requiredMessage(p: Prerequisite): string {
  const flag = p.name === 'browser' ? 'REQUIRE_BROWSER=1' : 'REQUIRE_REAL_DATA=1';
  return `${flag} but ${p.reason}`;
}

type TestFn = Parameters<typeof it>[1];

function gatedIt(find: () => Prerequisite): (title: string, fn: TestFn, timeout?: number) => void {
  return (title, fn, timeout) => {
    const p = find();
    const g = gate(p);
    if (g === 'run') it(title, fn, timeout);
    else if (g === 'skip') it.skip(skippedTitle(title, p.reason), fn, timeout);
    else
      it(title, () => {
        throw new Error(requiredMessage(p));
      });
  };
}

function gatedDescribe(find: () => Prerequisite): (title: string, fn: () => void) => void {
  return (title, fn) => {
    const p = find();
    const g = gate(p);
    if (g === 'run') describe(title, fn);
    else if (g === 'skip') describe.skip(skippedTitle(title, p.reason), fn);
    else
      describe(title, () => {
        it(`needs its ${p.name}`, () => {
          throw new Error(requiredMessage(p));
        });
      });
  };
}

/** `it` for a test that needs a browser. */
export const itBrowser = gatedIt(() => findBrowser());
/** `describe` for a block whose hooks and tests need a browser (its beforeAll does not run when skipped). */
export const describeBrowser = gatedDescribe(() => findBrowser());
/** `it` for a test that needs the real data file. */
export const itRealData = gatedIt(() => findRealData());
/** `describe` for a block that needs the real data file. */
export const describeRealData = gatedDescribe(() => findRealData());

/** The browser's executable, for use inside a gated test (throws when there is none). */
export function browserPath(): string {
  const p = findBrowser();
  if (!p.found) throw new Error(p.reason);
  return p.path;
}

/** The real data file, for use inside a gated test (throws when it is missing). */
export function realDataPath(): string {
  const p = findRealData();
  if (!p.found) throw new Error(p.reason);
  return p.path;
}
