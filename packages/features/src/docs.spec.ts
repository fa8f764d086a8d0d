import fs from 'node:fs';
import path from 'node:path';
import { FEATURE_DECLARATIONS } from '@bolsillo/schema';
import { renderFeatureDocs } from './docs';

const DOCS = path.resolve(__dirname, '../../../docs/features.md');

describe('docs/features.md', () => {
  it('lists every declared feature with its description and whether it is known before the transaction', () => {
    const text = renderFeatureDocs();
    for (const d of FEATURE_DECLARATIONS) {
      const line = text.split('\n').find((l) => l.startsWith(`| \`${d.name}\` |`));
      expect(line).toBeDefined();
      expect(line).toContain(d.description);
      expect(line).toContain(d.knownBeforeTransaction ? '| yes |' : '| **no** |');
    }
  });

  it('is up to date with the declarations (regenerate with `npx nx run features:docs`)', () => {
    expect(fs.readFileSync(DOCS, 'utf8')).toBe(renderFeatureDocs());
  });
});
