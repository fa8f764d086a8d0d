import path from 'node:path';
import { runCli, writeFileAtomic } from '@bolsillo/core';
import { renderFeatureDocs } from './docs';

void runCli({
  name: 'features-docs',
  description: 'Write docs/features.md from the feature declarations (FEATURE_DECLARATIONS in @bolsillo/schema).',
  recordRun: false,
  options: { out: { type: 'string', description: 'Output file.', default: path.join('docs', 'features.md') } },
  run: async (ctx) => {
    const file = path.resolve(String(ctx.values.out));
    const text = renderFeatureDocs();
    writeFileAtomic(file, text);
    ctx.log(`wrote ${file}`);
    return { rowsIn: 0, rowsOut: text.split('\n').length };
  },
});
