import fs from 'node:fs';
import path from 'node:path';

// What `npm install @bolsillo/<stage>` would bring: the transitive closure of `dependencies`,
// `optionalDependencies` and `peerDependencies`, resolved as Node resolves them (workspace packages
// through their node_modules links). The data stages must stay light: no TensorFlow in their closure.
const root = path.resolve(__dirname, '../../..');

interface Manifest {
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/** The directory of `name` as Node would find it from `fromDir` (undefined: an optional dependency not installed). */
function packageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) return fs.realpathSync(candidate);
    if (dir === path.dirname(dir)) return undefined;
  }
}

function readManifest(dir: string): Manifest {
  return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** Names of every package installed with the package in `dir`, itself excluded. */
function installClosure(dir: string): Set<string> {
  const seen = new Map<string, string>();
  const stack = [dir];
  while (stack.length > 0) {
    const current = stack.pop()!;
    const manifest = readManifest(current);
    const names = Object.keys({
      ...manifest.dependencies,
      ...manifest.optionalDependencies,
      ...manifest.peerDependencies,
    });
    for (const name of names) {
      const found = packageDir(name, current);
      if (found === undefined || seen.has(found)) continue;
      seen.set(found, name);
      stack.push(found);
    }
  }
  return new Set(seen.values());
}

/** `@bolsillo/*` packages the production sources of a workspace package import. */
function importedWorkspacePackages(dir: string): Set<string> {
  const imported = new Set<string>();
  const walk = (d: string): void => {
    for (const entry of fs.readdirSync(d, { withFileTypes: true })) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (/\.ts$/.test(entry.name) && !/\.(spec|test-util)\.ts$/.test(entry.name)) {
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:from |import\()'(@bolsillo\/[a-z-]+)'/g)) {
          imported.add(m[1]!);
        }
      }
    }
  };
  walk(path.join(dir, 'src'));
  return imported;
}

const workspaceDirs = ['packages', 'apps'].flatMap((group) =>
  fs
    .readdirSync(path.join(root, group))
    .map((name) => path.join(root, group, name))
    .filter((dir) => fs.existsSync(path.join(dir, 'package.json'))),
);

describe('install closure', () => {
  it.each(['schema', 'core', 'ingest', 'features', 'build'])(
    '@bolsillo/%s installs without TensorFlow or the model runtime',
    (name) => {
      const closure = [...installClosure(path.join(root, 'packages', name))];
      expect(closure).toContain('apache-arrow');
      expect(closure.filter((dep) => dep.startsWith('@tensorflow/') || dep === '@bolsillo/model')).toEqual([]);
    },
  );

  it('brings TensorFlow with the model runtime (the closure does see it)', () => {
    const closure = installClosure(path.join(root, 'packages', 'train'));
    expect(closure).toContain('@bolsillo/model');
    expect(closure).toContain('@tensorflow/tfjs');
  });

  // The closure is only as true as the manifests: every workspace package declares what it imports.
  it.each(workspaceDirs.map((dir) => [path.relative(root, dir), dir]))(
    '%s declares every @bolsillo package its sources import',
    (_name, dir) => {
      const manifest = readManifest(dir);
      const undeclared = [...importedWorkspacePackages(dir)].filter(
        (dep) => dep !== manifest.name && manifest.dependencies?.[dep] === undefined,
      );
      expect(undeclared).toEqual([]);
    },
  );
});
