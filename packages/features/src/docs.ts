import { FEATURE_DECLARATIONS, FEATURE_KEY_COLUMNS, type FeatureDeclaration } from '@bolsillo/schema';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/**
 * The feature catalogue as Markdown, generated from the declarations in `@bolsillo/schema`
 * (never edited by hand: `nx run features:docs` rewrites `docs/features.md`).
 */
export function renderFeatureDocs(declarations: readonly FeatureDeclaration[] = FEATURE_DECLARATIONS): string {
  const rows = declarations.map(
    (d) =>
      `| \`${d.name}\` | ${d.group} | ${d.dtype}${d.nullable ? ' (nullable)' : ''} | ${d.knownBeforeTransaction ? 'yes' : '**no**'} | ${d.sources.map((s) => `\`${s}\``).join(', ')} | ${cell(d.description)} |`,
  );
  const leaky = declarations.filter((d) => !d.knownBeforeTransaction).map((d) => `\`${d.name}\``);
  return [
    '# Features',
    '',
    '<!-- Generated from FEATURE_DECLARATIONS in packages/schema/src/features.ts by `nx run features:docs`. Do not edit. -->',
    '',
    `${declarations.length} features. Every feature-store row also carries the key columns ${FEATURE_KEY_COLUMNS.map((c) => `\`${c}\``).join(', ')}.`,
    '',
    '"Known before" says whether the value is known before the transaction happens, i.e. whether a model may use it',
    `to score a transaction. Not known before: ${leaky.length > 0 ? leaky.join(', ') : 'none'}.`,
    '',
    '| Feature | Group | Type | Known before | Sources | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Point-in-time rules (history features)',
    '',
    "- History is the customer's transactions strictly before the current one in the order (date, source_file, source_line);",
    '  earlier rows of the same day count, later rows of the same day do not.',
    '- The 7-day window of a transaction dated D holds earlier transactions dated D−6 … D (date > D − 7 days); the 30-day',
    '  window D−29 … D. Counts include rows with a missing amount; sums treat a missing amount as 0.',
    "- `amount_to_running_mean` divides by the mean of all the customer's earlier known amounts.",
    '- Holidays: fixed national dates plus Carnival Monday/Tuesday, Good Friday and Corpus Christi computed from Easter',
    '  (Consciência Negra, 20 November, from 2024).',
    '- The same kernel (`computeFeatures` / `updateCustomerState` in `@bolsillo/core`) computes features offline and online.',
    '',
  ].join('\n');
}
