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
    '"Known at snapshot" says whether the value is known just after the transaction, i.e. whether the forecast may use it.',
    `Not known at snapshot: ${leaky.length > 0 ? leaky.join(', ') : 'none'}.`,
    '',
    '| Feature | Group | Type | Known at snapshot | Sources | Description |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Snapshots and point-in-time rules',
    '',
    "- Every row's features describe the customer just after that transaction: its own fields, plus the history features over",
    "  the customer's transactions up to and including it in the order (date, source_file, source_line).",
    '- The file has no time of day, so the rows of one customer-day are treated as one event. The **snapshot** of a',
    "  customer-day is the customer's last row of that day: its history features cover the whole day, and the day features",
    '  (`day_min_available_ratio`, `day_count`, `revenge_count_today`) do not depend on the order of the rows within the day.',
    "  The forecast is trained and evaluated on snapshots only (see the README's target section); the per-row transaction",
    '  fields (amount, merchant group, ...) of a snapshot are those of one arbitrary row of the day and are not model features.',
    "- The 7-day window of a row dated D holds the customer's rows dated D−6 … D (date > D − 7 days) up to and including",
    '  it; the 30-day window D−29 … D. Counts include rows with a missing amount; sums treat a missing amount as 0.',
    '- A row is flagged (revenge spending) when available / total limit < `revengeThreshold` (features params, 0.2) at a',
    '  group outside the essential list; `revenge_count_*` and `days_since_revenge` count flagged rows in the window.',
    "- `days_since_prev` and `amount_to_running_mean` compare the row with the customer's rows before it.",
    '- Holidays: fixed national dates plus Carnival Monday/Tuesday, Good Friday and Corpus Christi computed from Easter',
    '  (Consciência Negra, 20 November, from 2024).',
    '- The same kernel (`computeFeatures` / `updateCustomerState` in `@bolsillo/core`) computes features offline and online:',
    "  the API folds the request's transaction into the customer's online state and computes the same features.",
    '',
  ].join('\n');
}
