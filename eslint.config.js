const nx = require('@nx/eslint-plugin');
const prettier = require('eslint-config-prettier');

module.exports = [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: ['**/dist/**', '**/node_modules/**', 'data/**', '.nx/**', 'coverage/**', 'docker/.verify/**', 'tmp/**'],
  },
  {
    files: ['**/*.ts', '**/*.js'],
    rules: {
      // Module boundaries: a stage imports only the shared libraries (schema, core), never another
      // stage; the API app imports serve, monitor and the shared libraries.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:schema', onlyDependOnLibsWithTags: ['type:schema'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:schema', 'type:util'] },
            { sourceTag: 'type:stage', onlyDependOnLibsWithTags: ['type:schema', 'type:util'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: ['type:schema', 'type:util', 'stage:serve', 'stage:monitor', 'stage:evaluate'],
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // Last: turns off the stylistic rules that Prettier owns (`npx prettier --check .` runs in lint).
  prettier,
];
