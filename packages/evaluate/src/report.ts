/**
 * The HTML report: one self-contained page per model version (inline CSS and SVG, no script, no
 * network, no raw rows) and an index of all versions. Pure string rendering.
 */
import type { Aliases, ModelCard } from '@bolsillo/schema';
import { EVAL_SPLITS, type Evaluation } from './evaluation';
import type { Estimate } from './metrics';
import { METRIC_DIRECTIONS, METRIC_NAMES, type MetricName } from './params';
import { esc } from './svg';

const METRIC_LABELS: Record<MetricName, string> = {
  roc_auc: 'ROC-AUC',
  pr_auc: 'PR-AUC (average precision)',
  log_loss: 'Log loss',
  brier: 'Brier score',
  ece: 'Expected calibration error',
  precision: 'Precision @ threshold',
  recall: 'Recall @ threshold',
  f1: 'F1 @ threshold',
  accuracy: 'Accuracy @ threshold',
};

/** Plot files in report order with their captions. */
export const PLOT_ORDER: readonly [string, string][] = [
  ['roc.svg', 'How well each model ranks positives above negatives, at every threshold.'],
  ['pr.svg', 'Precision against recall; the dashed line is what flagging at random achieves.'],
  ['reliability.svg', 'Whether a predicted 30% really means 30%: points on the diagonal are well calibrated.'],
  [
    'lift.svg',
    'How much richer in revenge spending each score decile is than average: the top deciles are where the best probabilities are.',
  ],
  ['gain.svg', 'Share of all revenge spending caught when flagging the top k deciles.'],
  [
    'confusion.svg',
    'Outcomes at the decision threshold: false positives are needless nudges, false negatives missed cases. Do not use the scores beyond what this matrix supports.',
  ],
  [
    'learning-curve.svg',
    'Train and validation log loss as the training set grows: a gap means over-fitting, a still-falling validation curve means more data would help. The title names the model refitted; a logistic stand-in for another family answers the "more data?" question for these features, not for that family.',
  ],
  ['score-distribution.svg', 'How the scores of each class are spread; overlap is where mistakes happen.'],
];

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
main{max-width:1120px;margin:0 auto;padding:24px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.25rem;margin-top:32px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0;background:#fff;font-size:.9rem}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}
thead th{background:#f0f0f0}
td.cand{background:#eef5ff;font-weight:600}
td.better{background:#e8f6ee}td.worse{background:#fdecea}
.ci{color:#666;font-size:.8em;font-weight:400;display:block}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:.8rem;margin-right:4px;background:#e0e0e0}
.badge.champion{background:#0072B2;color:#fff}.badge.previous{background:#999;color:#fff}.badge.challenger{background:#E69F00}
.verdict{padding:12px 16px;border-radius:6px;margin:16px 0}
.verdict.promote{background:#e8f6ee;border:1px solid #009E73}.verdict.reject{background:#fdecea;border:1px solid #D55E00}
.plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:16px}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:8px}
figure svg{max-width:100%;height:auto}
figcaption{font-size:.85rem;color:#444;margin-top:4px}
.meta{color:#555;font-size:.9rem}
.warn{background:#fff4e0;border:1px solid #E69F00;padding:8px 16px;border-radius:6px;margin:12px 0}
code{background:#f0f0f0;padding:0 4px;border-radius:3px}
`;

/** A statistic, or '–' when undefined (NaN in memory, null once read back from JSON). */
function num(x: number | null, digits = 4): string {
  return x !== null && Number.isFinite(x) ? x.toFixed(digits) : '–';
}

function estimateCell(e: Estimate, digits = 4, cls = ''): string {
  const ci =
    Number.isFinite(e.lo) && Number.isFinite(e.hi)
      ? `<span class="ci">[${num(e.lo, digits)}, ${num(e.hi, digits)}]</span>`
      : '';
  return `<td${cls ? ` class="${cls}"` : ''}>${num(e.value, digits)}${ci}</td>`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body><main>
${body}
</main></body>
</html>
`;
}

function aliasBadges(version: string, aliases: Aliases): string {
  return (['champion', 'challenger', 'previous'] as const)
    .filter((a) => aliases[a] === version)
    .map((a) => `<span class="badge ${a}">${a}</span>`)
    .join('');
}

/**
 * The report page of one version. `aliases` are the aliases after the gate ran.
 *
 * @example fs.writeFileSync('report.html', renderModelReport(evaluation, card, aliases))
 */
export function renderModelReport(
  ev: Evaluation,
  card: ModelCard,
  aliases: Aliases,
  options: { confidence: number; generatedAt?: string } = { confidence: 0.95 },
): string {
  const v = ev.verdict;
  const cols = ev.contenders;
  const head = `<tr><th>Metric</th>${cols.map((c) => `<th>${esc(c.label)}<br><span class="ci">${esc(c.role)}${c.version ? ` · ${esc(c.version)}` : ''}</span></th>`).join('')}</tr>`;
  const splitTables = EVAL_SPLITS.map((s) => {
    const first = cols[0]!.splits[s];
    const rows = METRIC_NAMES.map(
      (m) =>
        `<tr><td>${esc(METRIC_LABELS[m])} <span class="ci">${METRIC_DIRECTIONS[m]} is better</span></td>${cols.map((c) => estimateCell(c.splits[s].metrics[m], 4, c.role === 'candidate' ? 'cand' : '')).join('')}</tr>`,
    );
    const thr = `<tr><td>Decision threshold</td>${cols.map((c) => `<td${c.role === 'candidate' ? ' class="cand"' : ''}>${num(c.threshold, 4)}</td>`).join('')}</tr>`;
    const conf = (['tp', 'fp', 'fn', 'tn'] as const).map(
      (k) =>
        `<tr><td>${k.toUpperCase()} (count)</td>${cols.map((c) => estimateCell(c.splits[s].confusion[k], 0, c.role === 'candidate' ? 'cand' : '')).join('')}</tr>`,
    );
    const people =
      first.customers !== undefined
        ? `, ${first.customers} customers (${first.positive_customers} with positives)`
        : '';
    return `<h3>${esc(s)} split — ${first.n} rows, ${first.positives} positives (${num(first.n ? (100 * first.positives) / first.n : NaN, 1)}%)${people}</h3>
<table data-split="${esc(s)}"><thead>${head}</thead><tbody>${[...rows, thr, ...conf].join('\n')}</tbody></table>`;
  }).join('\n');
  const others = cols.filter((c) => c.delta);
  const competition = others.length
    ? `<h2>Competition: candidate minus each contender (${esc(ev.gate_split)} split)</h2>
<p class="meta">Paired customer-level bootstrap: whole customers resampled, both models on the same resamples. An interval that excludes 0 is a real difference; the sign is good when it matches the metric's direction. Rests on ${ev.evidence[ev.gate_split].customers} customers, ${ev.evidence[ev.gate_split].positive_customers} with positives.</p>
<table data-table="competition"><thead><tr><th>Metric</th>${others.map((c) => `<th>vs ${esc(c.label)}<br><span class="ci">${esc(c.version ?? 'computed here')}</span></th>`).join('')}</tr></thead><tbody>${METRIC_NAMES.map(
        (m) =>
          `<tr><td>${esc(METRIC_LABELS[m])} <span class="ci">${METRIC_DIRECTIONS[m]} is better</span></td>${others
            .map((c) => {
              const d = c.delta![m];
              const better = METRIC_DIRECTIONS[m] === 'higher' ? d.lo > 0 : d.hi < 0;
              const worse = METRIC_DIRECTIONS[m] === 'higher' ? d.hi < 0 : d.lo > 0;
              return estimateCell(d, 4, better ? 'better' : worse ? 'worse' : '');
            })
            .join('')}</tr>`,
      ).join('\n')}</tbody></table>`
    : '';
  const lift = ev.lift.test
    .map(
      (d) =>
        `<tr><td>${d.decile}</td><td>${d.count}</td><td>${d.positives}</td><td>${num(100 * d.rate, 1)}%</td><td>${num(d.lift, 2)}</td><td>${num(100 * d.cumulativeGain, 1)}%</td><td>${num(d.minScore, 4)}</td></tr>`,
    )
    .join('\n');
  const lc = ev.learning_curve
    .map(
      (p) =>
        `<tr><td>${p.size}</td><td>${num(p.train_log_loss)}</td><td>${num(p.validation_log_loss)}</td><td>${num(p.train_roc_auc)}</td><td>${num(p.validation_roc_auc)}</td></tr>`,
    )
    .join('\n');
  const plots = PLOT_ORDER.filter(([f]) => ev.plots[f])
    .map(
      ([f, caption]) => `<figure data-file="${esc(f)}">${ev.plots[f]}<figcaption>${esc(caption)}</figcaption></figure>`,
    )
    .join('\n');
  const vm = ev.decision.value_matrix;
  const sb = v.strongest_baseline;
  const strongest = sb
    ? `<p id="strongest-baseline">Strongest baseline on ${esc(sb.metric)} (${esc(sb.split)}): <strong>${esc(sb.label)}</strong> ${num(sb.value)} vs candidate ${num(sb.candidate)}; candidate − baseline <strong>${num(sb.delta.value)}</strong> [${num(sb.delta.lo)}, ${num(sb.delta.hi)}] (customer-level bootstrap${sb.customers !== undefined ? `, ${sb.customers} customers, ${sb.positive_customers} with positives` : ''}), margin ${sb.margin}: ${sb.beaten ? 'beaten' : `<strong>no model beats ${esc(sb.label)}</strong>`}.</p>`
    : '<p id="strongest-baseline">No baseline was compared: nothing shows the candidate beats a rule.</p>';
  const served = `<p id="served">Serving: <strong>${esc(v.served.label)}</strong>${v.served.version ? ` <code>${esc(v.served.version)}</code>` : ''} — ${esc(v.served.reason)}.</p>`;
  const warnings = ev.warnings.length
    ? `<div class="warn" id="warnings"><strong>Thin evidence</strong><ul>${ev.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>`
    : '';
  const baselineRows = cols
    .filter((c) => c.role === 'baseline' || c.kind)
    .map(
      (c) =>
        `<tr><td>${esc(c.label)}</td><td>${esc(c.description)}</td><td>${num(c.splits.test.metrics.pr_auc.value)}</td></tr>`,
    )
    .join('');
  const pc = ev.per_customer;
  const pcHead = `<tr><th>Contender</th><th>Customers with a PR-AUC</th><th>min</th><th>25%</th><th>median</th><th>75%</th><th>max</th><th>Customers with a ROC-AUC</th><th>median ROC-AUC</th></tr>`;
  const pcRows = cols
    .map((c) => {
      const sp = pc.spreads[c.id];
      if (!sp) return '';
      return `<tr><td>${esc(c.label)}</td><td>${sp.pr_auc.customers}</td><td>${num(sp.pr_auc.min)}</td><td>${num(sp.pr_auc.p25)}</td><td>${num(sp.pr_auc.median)}</td><td>${num(sp.pr_auc.p75)}</td><td>${num(sp.pr_auc.max)}</td><td>${sp.roc_auc.customers}</td><td>${num(sp.roc_auc.median)}</td></tr>`;
    })
    .join('');
  const shown = pc.customers.slice(0, 30);
  const custRows = shown
    .map(
      (c) =>
        `<tr><td>#${c.rank}</td><td>${c.rows}</td><td>${c.positives}</td>${cols.map((k) => `<td${k.role === 'candidate' ? ' class="cand"' : ''}>${num(c.pr_auc[k.id] ?? NaN)}</td>`).join('')}</tr>`,
    )
    .join('');
  const perCustomer = `<h2 id="per-customer">Per customer (${esc(pc.split)} split)</h2>
<p class="meta">Each model's PR-AUC within each customer's own rows (defined for customers with a positive; ROC-AUC needs both classes). The customer with the most positives holds ${num(100 * pc.dominant_positive_share, 1)}% of them. Customers are shown by rank, never by key.</p>
<table data-table="per-customer-spread"><thead>${pcHead}</thead><tbody>${pcRows}</tbody></table>
<table data-table="per-customer"><thead><tr><th>Customer (rank by positives)</th><th>Rows</th><th>Positives</th>${cols.map((c) => `<th>${esc(c.label)}</th>`).join('')}</tr></thead><tbody>${custRows}</tbody></table>${pc.customers.length > shown.length ? `<p class="meta">${pc.customers.length - shown.length} more customers with positives not shown.</p>` : ''}`;
  const pop = card.population;
  const lim = card.limitations;
  const slice = (name: string, p: NonNullable<ModelCard['population']>['train']) =>
    `<tr><td>${esc(name)}</td><td>${p.rows}</td><td>${p.positives}</td><td>${p.customers}</td><td>${p.positive_customers}</td><td>${esc(p.date_from ?? '–')} … ${esc(p.date_to ?? '–')}</td></tr>`;
  const cardSection = `${card.intended_use ? `<p><strong>Intended use.</strong> ${esc(card.intended_use)}</p>` : ''}
${card.target ? `<p><strong>Target.</strong> <code>${esc(card.target)}</code>${card.horizon_days ? `, horizon ${card.horizon_days} days` : ''}.</p>` : ''}
${pop ? `<table data-table="population"><thead><tr><th>Population</th><th>Rows</th><th>Positives</th><th>Customers</th><th>Customers with positives</th><th>Dates</th></tr></thead><tbody>${slice(pop.sampled ? 'train (sampled)' : 'train', pop.train)}${slice('calibration', pop.calibration)}</tbody></table>` : ''}
${lim ? `<p><strong>Limitations.</strong> ${lim.train_customers} training customers (${lim.train_positive_customers} with positives); the customer with the most positives holds ${num(100 * lim.dominant_customer_positive_share, 1)}% of them; calibration on ${lim.calibration.customers} customers (${lim.calibration.positive_customers} with positives).</p>${lim.warnings.length ? `<ul>${lim.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>` : ''}` : ''}
<p><strong>Baselines.</strong> ${sb ? `${sb.beaten ? 'Beats' : 'Does not beat'} the strongest baseline, ${esc(sb.label)} (this verdict, <code>verdict.json</code>, is the record).` : 'No baseline compared.'}</p>`;
  const body = `
<p class="meta"><a href="../index.html">← all versions</a></p>
<h1>Model ${esc(ev.version)} ${aliasBadges(ev.version, aliases)}</h1>
<p class="meta">family <code>${esc(card.family)}</code> · created ${esc(card.created_at)} · master <code>${esc(card.master_hash)}</code> · backend ${esc(card.backend)} · code ${esc(card.code_version)}${options.generatedAt ? ` · evaluated ${esc(options.generatedAt)}` : ''}</p>
<div class="verdict ${v.decision}" id="verdict">
<strong>Gate verdict: ${v.decision.toUpperCase()}</strong>${v.promoted ? ' — promoted to champion' : ''}${v.champion_before ? ` (champion before: <code>${esc(v.champion_before)}</code>)` : ' (no champion before)'}
${strongest}
${served}
<ul>${v.reasons.map((r) => `<li>${esc(r)}</li>`).join('')}</ul>
</div>
${warnings}
<h2>Decision threshold</h2>
<p>Threshold <strong>${num(ev.decision.threshold)}</strong> chosen by <strong>${ev.decision.objective === 'f1' ? 'best F1' : 'best total value'}</strong> on the ${esc(ev.decision.chosen_on ?? '')} split${ev.decision.achieved !== undefined ? ` (reached ${num(ev.decision.achieved)})` : ''}.
Value matrix (used by monitoring to measure value): TP ${vm.tp}, FP ${vm.fp}, FN ${vm.fn}, TN ${vm.tn}.</p>
<h2>Metrics against baselines and the champion</h2>
<p class="meta">Point estimate with a ${Math.round(100 * options.confidence)}% seeded customer-level (cluster) bootstrap interval in brackets: whole customers are resampled, so an interval says how a result varies across people. Every model is scored on the same rows and the same resamples.</p>
<table data-table="baselines"><thead><tr><th>Baseline</th><th>What it does</th><th>PR-AUC (test)</th></tr></thead><tbody>${baselineRows}</tbody></table>
${splitTables}
${competition}
${perCustomer}
<h2>Plots</h2>
<div class="plots">
${plots}
</div>
<h2>Lift by decile (test split)</h2>
<p class="meta">Flag a decile and everything above it by using its lowest score as the threshold.</p>
<table><thead><tr><th>Decile</th><th>Rows</th><th>Positives</th><th>Rate</th><th>Lift</th><th>Cumulative gain</th><th>Lowest score</th></tr></thead><tbody>${lift}</tbody></table>
<h2>Learning curve</h2>
<table><thead><tr><th>Training rows</th><th>Train log loss</th><th>Validation log loss</th><th>Train ROC-AUC</th><th>Validation ROC-AUC</th></tr></thead><tbody>${lc}</tbody></table>
<h2>Model card</h2>
${cardSection}
<p>Features (${card.features.length}): ${card.features.map((f) => `<code>${esc(f)}</code>`).join(' ')}</p>
<table><thead><tr><th>Training metric</th><th>Value</th></tr></thead><tbody>${Object.entries(card.metrics)
    .map(([k, x]) => `<tr><td>${esc(k)}</td><td>${num(x)}</td></tr>`)
    .join('')}</tbody></table>
`;
  return page(`Model ${ev.version} — evaluation report`, body);
}

/** What the index shows per version (from `reports/<version>/metrics.json` when evaluated). */
export interface IndexEntry {
  readonly card: ModelCard;
  readonly evaluated: {
    readonly test: Partial<Record<MetricName, number>>;
    readonly holdout: Partial<Record<MetricName, number>>;
    readonly decision: string;
    readonly threshold: number;
  } | null;
}

/** The index page over all versions, newest first. */
export function renderIndex(entries: readonly IndexEntry[], aliases: Aliases, generatedAt?: string): string {
  const keys: MetricName[] = ['roc_auc', 'pr_auc', 'log_loss', 'brier', 'f1'];
  const rows = [...entries]
    .reverse()
    .map((e) => {
      const v = e.card.version;
      const link = e.evaluated ? `<a href="./${esc(v)}/report.html">${esc(v)}</a>` : esc(v);
      const metrics = keys.map((k) => `<td>${e.evaluated ? num(e.evaluated.test[k] ?? NaN) : '–'}</td>`).join('');
      return `<tr data-version="${esc(v)}"><td>${link} ${aliasBadges(v, aliases)}</td><td>${esc(e.card.family)}</td><td>${esc(e.card.created_at)}</td>${metrics}<td>${e.evaluated ? num(e.evaluated.holdout.pr_auc ?? NaN) : '–'}</td><td>${e.evaluated ? num(e.evaluated.threshold) : '–'}</td><td>${e.evaluated ? esc(e.evaluated.decision) : 'not evaluated'}</td></tr>`;
    })
    .join('\n');
  const body = `
<h1>Model versions</h1>
<p class="meta">Champion: <code>${esc(aliases.champion ?? 'none')}</code> · challenger: <code>${esc(aliases.challenger ?? 'none')}</code> · previous: <code>${esc(aliases.previous ?? 'none')}</code>${aliases.updated_at ? ` · aliases updated ${esc(aliases.updated_at)}` : ''}${generatedAt ? ` · page generated ${esc(generatedAt)}` : ''}</p>
<table><thead><tr><th>Version</th><th>Family</th><th>Created</th>${keys.map((k) => `<th>${esc(METRIC_LABELS[k])} (test)</th>`).join('')}<th>PR-AUC (holdout)</th><th>Threshold</th><th>Gate</th></tr></thead>
<tbody>${rows}</tbody></table>
`;
  return page('Model versions — evaluation index', body);
}
