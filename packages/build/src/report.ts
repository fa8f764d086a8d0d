import { SPLITS } from '@bolsillo/schema';
import type { BuildReports } from './build';

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
/** Four decimals; a statistic read back from JSON may be null (it was undefined). */
const f4 = (x: number | null) => (x === null ? '—' : x.toFixed(4));
const fmt = (x: number | null) => (x === null ? '—' : Number.isInteger(x) ? String(x) : x.toFixed(4));

/** The one-page build report (`report.md`): what went in, what came out, and every decision. */
export function renderBuildReport(out: BuildReports, hash: string): string {
  const t = out.target;
  const q = out.quality;
  const lines: string[] = [
    `# Build report — master ${hash}`,
    '',
    `Content hash \`${out.contentHash}\` over ${out.rows} rows in canonical order (date, txn_id).`,
    '',
    '## Target',
    '',
    `**Flag** (authorisation time, exact): \`${t.flag.name}\` = available / total limit < ${t.flag.threshold} (unrounded) and merchant group not in ${t.flag.essential_groups.join(', ')}.`,
    '',
    `| transactions | flag not computable | flagged | flagged under the prototype's rounded rule |`,
    '|---:|---:|---:|---:|',
    `| ${t.flag.rows} | ${t.flag.excluded.total} (missing ratio ${t.flag.excluded.missing_ratio}, no credit limit ${t.flag.excluded.no_credit_limit}) | ${t.flag.flagged} | ${t.flag.positives_rounded_rule} |`,
    '',
    'The prototype rounded the percentage to an integer before comparing (`round(pct) < 20`), which',
    'moves ratios in [0.195, 0.20) above the threshold; comparing unrounded is the stated rule.',
    '',
    `**Forecast target** \`${t.name}\`: the customer makes a flagged transaction in the ${t.horizon_days} days after a snapshot`,
    `(a customer's last transaction of a day). Snapshots dated after ${t.data_end ?? '—'} minus ${t.horizon_days} days are censored: their outcome is not known yet.`,
    '',
    '| snapshots | censored | master rows | positives | prevalence | customers | customers with a positive |',
    '|---:|---:|---:|---:|---:|---:|---:|',
    `| ${t.snapshots} | ${t.censored} | ${t.rows_out} | ${t.positives} | ${pct(t.prevalence)} | ${t.customers} | ${t.positive_customers} |`,
    '',
    `## Data quality — ${q.success ? 'passed' : 'FAILED'} (${q.evaluated} expectations, ${q.failed_errors.length} errors, ${q.failed_warnings.length} warnings)`,
    '',
    '| expectation | severity | result | observed |',
    '|---|---|---|---|',
    ...q.results.map(
      (r) =>
        `| ${r.id} | ${r.expectation.severity} | ${r.success ? 'ok' : '**failed**'} | ${Object.entries(r.observed)
          .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : String(v)}`)
          .join(', ')} |`,
    ),
    '',
    `## Splits (${out.splits.strategy}, seed ${out.splits.seed}, ${out.splits.folds.length} group folds on train)`,
    '',
    ...(out.splits.strategy === 'group'
      ? []
      : [
          `Gap of ${out.splits.gap_days} days (the horizon) after each period, so no label window of an earlier split reads a later split's days. ` +
            `Rows in no split: ${out.splits.unassigned.rows} (${pct(out.splits.unassigned.share)}, ${out.splits.unassigned.positives} positives)` +
            (out.splits.strategy === 'group_time'
              ? ", including the train customers' later rows and the other customers' earlier rows."
              : '.'),
          '',
        ]),
    '| split | requested | rows | share | positives | prevalence | groups | dates |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...SPLITS.map((s) => {
      const x = out.splits.splits[s];
      return `| ${s} | ${pct(out.splits.requested[s])} | ${x.rows} | ${pct(x.share)} | ${x.positives} | ${pct(x.prevalence)} | ${x.groups} | ${x.date_min ?? '—'} … ${x.date_max ?? '—'} |`;
    }),
    '',
    '| fold | rows | positives | prevalence | groups |',
    '|---:|---:|---:|---:|---:|',
    ...out.splits.folds.map((f) => `| ${f.fold} | ${f.rows} | ${f.positives} | ${pct(f.prevalence)} | ${f.groups} |`),
    '',
    `## Leakage — ${out.leakage.passed ? 'passed' : 'FAILED'}`,
    '',
    `Entities in more than one split: ${out.leakage.entity_overlap.groups} (${out.leakage.entity_overlap.note}). ` +
      `Identical model-feature rows across splits: ${out.leakage.identical_rows_across_splits.rows}. ` +
      `Single-feature AUCs on ${out.leakage.auc_rows.rows} of ${out.leakage.auc_rows.train_rows} train rows` +
      (out.leakage.auc_rows.seed !== null ? ` (seeded sample, seed ${out.leakage.auc_rows.seed}).` : '.'),
    '',
    ...(out.leakage.target_window
      ? [
          `Target window: days d+1 … d+${out.leakage.target_window.to_day} after a snapshot on day d; features must read nothing after day d (declared known at the snapshot; a future-data flag is never allowed).` +
            (out.leakage.label_windows.length
              ? ' Label windows against later splits sharing customers: ' +
                out.leakage.label_windows
                  .map((w) => `${w.from} → ${w.to} ${w.gap_days} days (${w.overlaps ? '**overlap**' : 'clear'})`)
                  .join(', ') +
                '.'
              : ' No two splits share a customer, so no label window can read another split.'),
          '',
        ]
      : []),
    '| feature | train AUC | flags | notes | in model | allowed because |',
    '|---|---:|---|---|---|---|',
    ...out.leakage.features
      .filter((f) => f.flags.length || f.in_model)
      .map(
        (f) =>
          `| ${f.feature} | ${fmt(f.train_auc)} | ${f.flags.map((x) => `${x.check}: ${x.detail}`).join('<br>') || '—'} | ${f.notes.join('<br>') || '—'} | ${f.in_model ? 'yes' : 'no'} | ${f.allowed_reason ?? '—'} |`,
      ),
    '',
    `## Feature selection — ${out.selection.features.length} features (fitted on ${out.selection.rows} train rows${
      out.selection.sample_seed != null
        ? `: a seeded uniform sample of ${out.selection.train_rows} (seed ${out.selection.sample_seed}, params selection.max_rows)`
        : ''
    })`,
    '',
    '| feature | decision | MI (bits) | reason |',
    '|---|---|---:|---|',
    ...[...out.selection.decisions]
      .sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9))
      .map((d) => `| ${d.feature} | ${d.action} | ${d.mutual_information.toFixed(4)} | ${d.reason} |`),
    '',
    ...identitySection(out),
    `## Profile`,
    '',
    `${Object.keys(out.profile.columns).length} columns profiled over ${out.profile.rows} rows (quantiles, ${'histograms with stored bin edges'}, frequencies, missing shares) in \`profile.json\`: the drift reference.`,
    '',
  ];
  return lines.join('\n');
}

/** The identity-proxy measurement: candidates, drop-column deltas and the elimination rounds. */
function identitySection(out: BuildReports): string[] {
  const id = out.selection.identity;
  if (!id) return [];
  const p = id.params;
  const lines = [
    `### Identity proxies — ${id.dropped.length ? `dropped ${id.dropped.join(', ')}` : 'none dropped'}`,
    '',
    `Customer attributes (share ≥ ${p.min_customer_share}: eta² of the customer for numbers, Goodman–Kruskal lambda otherwise) measured by grouped-CV drop-column importance: ` +
      `${id.model}, ${p.folds} customer folds × ${p.repeats} repeats on ${id.rows} train rows of ${id.customers} customers (${id.positives} positives, ${id.positive_customers} customers with one; seed ${p.seed}). ` +
      `Δ = fold-mean PR-AUC with the feature − without it; dropped (least useful first, one per round) while Δ ≤ ${p.min_gain} + ${p.min_gain_z} standard errors of the fold deltas (sd / √folds).`,
    '',
  ];
  if (id.skipped) return [...lines, `Not measured: ${id.skipped}.`, ''];
  const tested = id.candidates.filter((c) => c.tested);
  if (tested.length === 0) return [...lines, 'No feature reaches the customer-share threshold.', ''];
  const sd = (x: number | null) => (x === null ? '—' : x.toFixed(4));
  return [
    ...lines,
    '| feature | customer share | decision | Δ PR-AUC | sd over folds | folds better without | Δ log loss (without − with) | round |',
    '|---|---:|---|---:|---:|---:|---:|---:|',
    ...tested.map(
      (c) =>
        `| ${c.feature} | ${c.customer_share.toFixed(3)} (${c.measure === 'eta_squared' ? 'eta²' : 'lambda'}) | ${c.action ?? '—'} | ${sd(c.delta_pr_auc)} | ${sd(c.delta_sd)} | ${c.folds_better_without ?? '—'}/${c.folds ?? '—'} | ${sd(c.delta_log_loss)} | ${c.round ?? '—'} |`,
    ),
    '',
    '| round | features | fold-mean PR-AUC | log loss | dropped |',
    '|---:|---:|---:|---:|---|',
    ...id.rounds.map(
      (r) =>
        `| ${r.round} | ${r.features} | ${f4(r.pr_auc)} | ${f4(r.log_loss)} | ${r.dropped ?? '— (every remaining candidate helps)'} |`,
    ),
    '',
  ];
}
