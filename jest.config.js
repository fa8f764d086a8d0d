/** Root Jest config: one project per library/app, TypeScript through SWC. */
const path = require('node:path');
const { compilerOptions } = require('./tsconfig.base.json');

const moduleNameMapper = Object.fromEntries(
  Object.entries(compilerOptions.paths).map(([name, [target]]) => [
    `^${name.replace('/', '\\/')}$`,
    path.join(__dirname, target),
  ]),
);

const swc = [
  '@swc/jest',
  { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } },
];

const roots = ['packages', 'apps'];
const fs = require('node:fs');
const projects = roots
  .flatMap((root) =>
    fs.existsSync(path.join(__dirname, root))
      ? fs.readdirSync(path.join(__dirname, root)).map((name) => path.join(root, name))
      : [],
  )
  .filter((dir) => fs.existsSync(path.join(__dirname, dir, 'src')))
  .map((dir) => ({ dir, testMatch: ['<rootDir>/src/**/*.spec.ts'] }))
  // The shared test helpers (tools/testing), the tools' own specs (tools/*.spec.ts) and the whole-pipeline
  // fault suite (tools/faults, docs/reliability.md) are tested too.
  .concat([
    {
      dir: 'tools',
      testMatch: ['<rootDir>/testing/**/*.spec.ts', '<rootDir>/*.spec.ts', '<rootDir>/faults/**/*.spec.ts'],
    },
  ])
  .map(({ dir, testMatch }) => ({
    displayName: dir,
    rootDir: path.join(__dirname, dir),
    testEnvironment: 'node',
    transform: { '^.+\\.ts$': swc },
    moduleNameMapper,
    testMatch,
  }));

module.exports = {
  projects,
  testTimeout: 120000,
  // The skip reporter prints, after the summary, every skipped test with its reason (no browser, no real data).
  reporters: ['default', '<rootDir>/tools/jest-skip-reporter.js'],
  globalSetup: '<rootDir>/tools/jest-global-setup.js',
  globalTeardown: '<rootDir>/tools/jest-global-teardown.js',
};
