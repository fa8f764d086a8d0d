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
      // Module boundaries: a stage imports only the shared libraries (schema, core, model), never another
      // stage; the data stages (scope:data: ingest, features, build) never import the model runtime, so
      // they install without TensorFlow; the API app imports serve, monitor, evaluate and the shared libraries.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:schema', onlyDependOnLibsWithTags: ['type:schema'] },
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:schema', 'type:util'] },
            { sourceTag: 'type:model', onlyDependOnLibsWithTags: ['type:schema', 'type:util'] },
            { sourceTag: 'type:stage', onlyDependOnLibsWithTags: ['type:schema', 'type:util', 'type:model'] },
            { sourceTag: 'scope:data', notDependOnLibsWithTags: ['type:model'] },
            {
              sourceTag: 'type:app',
              onlyDependOnLibsWithTags: [
                'type:schema',
                'type:util',
                'type:model',
                'stage:serve',
                'stage:monitor',
                'stage:evaluate',
              ],
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
