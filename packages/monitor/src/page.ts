import fs from 'node:fs';
import path from 'node:path';
import { dataLayout, formatTick, niceTicks, readJson, readJsonl } from '@bolsillo/core';
import type { ActionRecord } from './actions';
import type { MonitorSummary } from './monitor-outputs';

/** Everything the page shows; each part may be missing (nothing monitored yet). */
export interface MonitoringPageData {
  readonly drift: MonitorSummary['drift'] | null;
  readonly metrics: MonitorSummary['metrics'] | null;
  readonly value: MonitorSummary['value'] | null;
  readonly costs: MonitorSummary['costs'] | null;
  readonly alarms: MonitorSummary['alarms'] | null;
  /** Data health (rejected files, k-anonymity, unseen merchant groups); absent in reports older than it. */
  readonly data?: MonitorSummary['data'] | null;
  readonly actions: readonly ActionRecord[];
  readonly driftHistory: readonly { ts: string; share_drifted: number; psi: Record<string, number> }[];
}

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];

function esc(s: unknown): string {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x)
    ? '–'
    : Math.abs(x) >= 1000
      ? x.toFixed(0)
      : x.toFixed(digits);
}

/** Chart width in SVG units; every chart is drawn at the page's width (width 100%, scaled by its viewBox). */
const CHART_W = 940;
/** Approximate advance of an 11px system-ui character; generous, so that a label is never clipped. */
const CHAR_W = 6.6;
const LEGEND_ROW = 16;

/** Legend entries in rows that fit `width`, each a coloured swatch and the full name. */
function legend(
  items: readonly { name: string; color: string }[],
  x0: number,
  y0: number,
  width: number,
): { svg: string; height: number } {
  let x = x0;
  let y = y0;
  const out: string[] = [];
  for (const it of items) {
    const w = 24 + it.name.length * CHAR_W;
    if (x > x0 && x + w > x0 + width) {
      x = x0;
      y += LEGEND_ROW;
    }
    out.push(
      `<line x1="${x}" x2="${x + 14}" y1="${y - 4}" y2="${y - 4}" stroke="${it.color}" stroke-width="3"/><text x="${x + 18}" y="${y}" font-size="11">${esc(it.name)}</text>`,
    );
    x += w;
  }
  return { svg: out.join(''), height: items.length ? y - y0 + LEGEND_ROW : 0 };
}

/** Horizontal bars with a per-bar threshold tick; bars over their threshold are red. */
function barChart(
  title: string,
  bars: readonly { label: string; value: number; threshold: number; flagged: boolean }[],
): string {
  if (!bars.length) return `<p class="empty">${esc(title)}: no data yet.</p>`;
  const w = CHART_W;
  const rowH = 18;
  const left = Math.max(120, Math.max(...bars.map((b) => b.label.length)) * CHAR_W + 12);
  const right = 20;
  const top = 24;
  const plotH = bars.length * rowH;
  const h = top + plotH + 44;
  const ticks = niceTicks(0, Math.max(...bars.map((b) => Math.max(b.value, b.threshold)), 1e-9));
  const max =
    ticks.values.at(-1)! > 0 ? Math.max(ticks.values.at(-1)!, ...bars.map((b) => Math.max(b.value, b.threshold))) : 1;
  const x = (v: number) => left + (Math.max(0, v) / max) * (w - left - right);
  const grid = ticks.values
    .map(
      (t) =>
        `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#e5e5e5"/><text x="${x(t).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle" font-size="10">${formatTick(t, ticks.step)}</text>`,
    )
    .join('');
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      return `<text x="${left - 6}" y="${y + 12}" text-anchor="end" font-size="11">${esc(b.label)}</text>
<rect x="${left}" y="${y + 2}" width="${(x(b.value) - left).toFixed(1)}" height="${rowH - 6}" fill="${b.flagged ? '#d62728' : '#1f77b4'}"><title>${esc(b.label)}: ${num(b.value)} (threshold ${num(b.threshold)})</title></rect>
<line x1="${x(b.threshold).toFixed(1)}" x2="${x(b.threshold).toFixed(1)}" y1="${y}" y2="${y + rowH}" stroke="#333" stroke-dasharray="3,2"/>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="100%" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif">
<text x="4" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${grid}${rows}
<text x="${w - right}" y="${h - 6}" text-anchor="end" font-size="10">dashed: threshold sized to the sample; red: above it</text></svg>`;
}

/** A line chart over string x values (dates or runs), several series, the legend below it. */
function lineChart(
  title: string,
  xs: readonly string[],
  series: readonly { name: string; values: readonly (number | null)[] }[],
  yLabel = '',
): string {
  const pts = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (!xs.length || !pts.length) return `<p class="empty">${esc(title)}: no data yet.</p>`;
  const w = CHART_W;
  const m = { l: 64, r: 20, t: 24, b: 36 };
  const plotH = 180;
  let lo = Math.min(...pts);
  let hi = Math.max(...pts);
  if (hi === lo) {
    hi += Math.abs(hi) * 0.1 || 1;
    lo -= Math.abs(lo) * 0.1 || 1;
  }
  // The axis runs from one round tick to another, so the highest and lowest points have a label above and below.
  const step = niceTicks(lo, hi, 4).step;
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  const ticks = niceTicks(lo, hi, 4);
  const colors = series.map((_, k) => COLORS[k % COLORS.length]!);
  const key = legend(
    series.map((s, k) => ({ name: s.name, color: colors[k]! })),
    m.l,
    m.t + plotH + m.b,
    w - m.l - m.r,
  );
  const h = m.t + plotH + m.b + key.height;
  const x = (i: number) => m.l + (xs.length === 1 ? (w - m.l - m.r) / 2 : (i / (xs.length - 1)) * (w - m.l - m.r));
  const y = (v: number) => m.t + (1 - (v - lo) / (hi - lo)) * plotH;
  const lines = series
    .map((s, k) => {
      const color = colors[k]!;
      const segs = s.values.map((v, i) =>
        v === null || !Number.isFinite(v) ? null : `${x(i).toFixed(1)},${y(v).toFixed(1)}`,
      );
      const path = segs.filter((p): p is string => p !== null).join(' ');
      const dots = segs
        .map((p, i) =>
          p
            ? `<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="2.5" fill="${color}"><title>${esc(s.name)} ${esc(xs[i])}: ${num(s.values[i])}</title></circle>`
            : '',
        )
        .join('');
      return `<polyline points="${path}" fill="none" stroke="${color}" stroke-width="1.5"/>${dots}`;
    })
    .join('\n');
  const yTicks = ticks.values
    .map(
      (v) =>
        `<text x="${m.l - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" font-size="10">${formatTick(v, ticks.step)}</text><line x1="${m.l}" x2="${w - m.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`,
    )
    .join('');
  // Up to six evenly spaced x labels, the first and the last always among them.
  const every = Math.max(1, Math.ceil((xs.length - 1) / 5));
  const xIdx = [...new Set([...xs.keys()].filter((i) => i % every === 0).concat(xs.length - 1))];
  const xl = xIdx
    .map(
      (i) =>
        `<text x="${x(i).toFixed(1)}" y="${m.t + plotH + 14}" text-anchor="${xs.length > 1 && i === 0 ? 'start' : xs.length > 1 && i === xs.length - 1 ? 'end' : 'middle'}" font-size="10">${esc(xs[i])}</text>`,
    )
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(title)}" width="100%" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif">
<text x="4" y="14" font-size="13" font-weight="bold">${esc(title)}</text>${yTicks}${xl}
<text x="12" y="${m.t + plotH / 2}" font-size="10" transform="rotate(-90 12 ${m.t + plotH / 2})" text-anchor="middle">${esc(yLabel)}</text>${lines}${key.svg}</svg>`;
}

/** Reference vs current shares of one feature, side by side. */
function compareChart(f: NonNullable<MonitorSummary['drift']['result']>['features'][number]): string {
  const title = `${f.feature} (${f.test} ${num(f.statistic)})`;
  const w = Math.max(300, Math.ceil(title.length * CHAR_W) + 12);
  const h = 120;
  const n = f.labels.length;
  const bw = (w - 20) / n;
  const max = Math.max(...f.referenceShares, ...f.currentShares, 1e-9);
  const bars = f.labels
    .map((l, i) => {
      const r = (f.referenceShares[i]! / max) * (h - 40);
      const c = (f.currentShares[i]! / max) * (h - 40);
      return `<rect x="${10 + i * bw}" y="${h - 20 - r}" width="${bw / 2}" height="${r}" fill="#9ecae1"><title>${esc(l)} reference ${num(f.referenceShares[i]!)}</title></rect><rect x="${10 + i * bw + bw / 2}" y="${h - 20 - c}" width="${bw / 2}" height="${c}" fill="${f.drifted ? '#d62728' : '#3182bd'}"><title>${esc(l)} current ${num(f.currentShares[i]!)}</title></rect>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${esc(f.feature)} distribution" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="system-ui, sans-serif"><text x="4" y="12" font-size="11" font-weight="bold">${esc(title)}</text>${bars}<text x="4" y="${h - 4}" font-size="9">light: reference · dark: window</text></svg>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  if (!rows.length) return '<p class="empty">None.</p>';
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Render the monitoring page from already-read data. Pure: no I/O, no clock. */
export function renderMonitoringHtml(d: MonitoringPageData): string {
  const drift = d.drift?.result ?? null;
  const parts: string[] = [];
  // Data health first: a quarantined file or a privacy shortfall needs a person before any chart does.
  if (d.data) {
    parts.push('<h2 id="data">Data health</h2>');
    parts.push(
      d.data.warnings.length
        ? `<ul>${d.data.warnings.map((w) => `<li class="warn">${esc(w)}</li>`).join('')}</ul>`
        : '<p class="empty">No quarantined file, k-anonymity at or above its minimum, no unseen merchant group.</p>',
    );
  }
  // Drift.
  parts.push('<h2 id="drift">Data drift</h2>');
  if (d.drift) {
    const w = d.drift.window;
    parts.push(
      `<p>Reference: master <code>${esc(d.drift.reference?.hash.slice(0, 16) ?? 'none')}</code> (${d.drift.reference?.rows ?? 0} rows, data up to ${esc(d.drift.reference?.last_date ?? '–')}). Window: ${esc(w.kind)} ${esc(w.from ?? '')} … ${esc(w.to ?? '')}, ${w.partitions} partitions, ${w.rows} rows.${drift ? ` <strong>${drift.driftedCount} of ${drift.features.length}</strong> features drifted (${(drift.shareDrifted * 100).toFixed(0)}%), PSI above threshold on ${drift.psiAboveCount}.` : ''}</p>`,
    );
  }
  if (drift) {
    const sorted = [...drift.features].sort((a, b) => b.psi - a.psi);
    parts.push(
      barChart(
        'PSI per feature (stored bins)',
        sorted.map((f) => ({
          label: f.feature,
          value: f.psi,
          threshold: f.psiThreshold,
          flagged: f.psi > f.psiThreshold,
        })),
      ),
    );
    parts.push(
      table(
        ['feature', 'test', 'statistic', 'p-value', 'threshold', 'PSI', 'verdict'],
        sorted.map((f) => [
          esc(f.feature),
          esc(f.test),
          num(f.statistic, 4),
          f.pValue === null ? '–' : f.pValue.toExponential(2),
          num(f.threshold, 4),
          num(f.psi, 4),
          f.drifted ? '<span class="bad">drift</span>' : 'ok',
        ]),
      ),
    );
    const shown = drift.features.filter((f) => f.drifted).slice(0, 8);
    if (shown.length) parts.push(`<div class="grid">${shown.map(compareChart).join('')}</div>`);
  } else parts.push('<p class="empty">No drift computed yet (no reference profile or no window).</p>');
  if (d.drift?.score) {
    const s = d.drift.score;
    parts.push(
      `<p>Score drift (KS, champion scores on master test rows vs the window): D = ${num(s.statistic)}, p = ${s.pValue === null ? '–' : s.pValue.toExponential(2)}, mean ${num(s.meanReference)} → ${num(s.meanCurrent)}: ${s.drifted ? '<span class="bad">drift</span>' : 'ok'}.</p>`,
    );
  }
  if (d.driftHistory.length > 1) {
    const feats = Object.keys(d.driftHistory[d.driftHistory.length - 1]!.psi);
    const top = feats
      .sort(
        (a, b) =>
          (d.driftHistory[d.driftHistory.length - 1]!.psi[b] ?? 0) -
          (d.driftHistory[d.driftHistory.length - 1]!.psi[a] ?? 0),
      )
      .slice(0, 6);
    parts.push(
      lineChart(
        'PSI over monitor runs (top features)',
        d.driftHistory.map((h) => h.ts.slice(0, 16)),
        top.map((f) => ({ name: f, values: d.driftHistory.map((h) => h.psi[f] ?? null) })),
        'PSI',
      ),
    );
  }
  // Metrics.
  parts.push('<h2 id="metrics">Model metrics over time</h2>');
  const versions = d.metrics?.versions ?? [];
  if (d.metrics)
    parts.push(
      `<p>Labels: ${d.metrics.labels.feedback} from feedback, ${d.metrics.labels.computed} computed from new days; rolling window ${d.metrics.window_days} days.</p>`,
    );
  const dates = [...new Set(versions.flatMap((v) => v.series.map((p) => p.date)))].sort();
  const seriesOf = (key: 'prAuc' | 'rocAuc' | 'precision' | 'recall' | 'ece') =>
    versions.map((v) => ({
      name: v.modelVersion,
      values: dates.map((dt) => v.series.find((p) => p.date === dt)?.[key] ?? null),
    }));
  parts.push(lineChart('PR-AUC (rolling)', dates, seriesOf('prAuc'), 'PR-AUC'));
  parts.push(lineChart('ROC-AUC (rolling)', dates, seriesOf('rocAuc'), 'ROC-AUC'));
  parts.push(lineChart('Precision (rolling)', dates, seriesOf('precision'), 'precision'));
  parts.push(lineChart('Recall (rolling)', dates, seriesOf('recall'), 'recall'));
  parts.push(lineChart('Calibration error, ECE (rolling)', dates, seriesOf('ece'), 'ECE'));
  parts.push(
    table(
      ['version', 'threshold', 'labels', 'positives', 'ROC-AUC', 'PR-AUC', 'precision', 'recall', 'ECE'],
      versions.map((v) => [
        `<code>${esc(v.modelVersion)}</code>`,
        num(v.threshold),
        String(v.overall.n),
        String(v.overall.positives),
        num(v.overall.rocAuc),
        num(v.overall.prAuc),
        num(v.overall.precision),
        num(v.overall.recall),
        num(v.overall.ece),
      ]),
    ),
  );
  // Value.
  parts.push('<h2 id="value">Value</h2>');
  const points = (d.value?.points ?? []).filter((p) => p.date !== 'total');
  const vdates = [...new Set(points.map((p) => p.date))].sort();
  const vversions = [...new Set(points.map((p) => p.modelVersion))];
  parts.push(
    lineChart(
      'Value per day (value matrix × outcomes)',
      vdates,
      vversions.map((v) => ({
        name: v,
        values: vdates.map((dt) => points.find((p) => p.date === dt && p.modelVersion === v)?.value ?? null),
      })),
      'value',
    ),
  );
  parts.push(
    table(
      ['version', 'labelled', 'TP', 'FP', 'FN', 'TN', 'total value', 'per transaction'],
      (d.value?.points ?? [])
        .filter((p) => p.date === 'total')
        .map((p) => [
          `<code>${esc(p.modelVersion)}</code>`,
          String(p.n),
          String(p.tp),
          String(p.fp),
          String(p.fn),
          String(p.tn),
          num(p.value, 2),
          num(p.valuePerTransaction, 3),
        ]),
    ),
  );
  // Costs.
  parts.push('<h2 id="costs">Compute cost</h2>');
  const stages = d.costs?.stages ?? [];
  const stageNames = [...new Set(stages.map((s) => s.stage))];
  const runsX = stages.map((s) => s.startedAt.slice(0, 16));
  parts.push(
    lineChart(
      'Stage runs: wall seconds',
      runsX,
      stageNames.map((n) => ({ name: n, values: stages.map((s) => (s.stage === n ? s.wallSeconds : null)) })),
      'seconds',
    ),
  );
  parts.push(
    table(
      ['stage', 'runs', 'wall s', 'CPU s', 'peak MB (last)'],
      (d.costs?.perStage ?? []).map((s) => [
        esc(s.stage),
        String(s.runs),
        num(s.wallSeconds, 2),
        num(s.cpuSeconds, 2),
        num(s.lastPeakRssMb, 0),
      ]),
    ),
  );
  const serving = d.costs?.serving ?? [];
  parts.push(
    lineChart(
      'Serving: CPU µs per prediction',
      serving.map((s) => s.date),
      [
        { name: 'mean', values: serving.map((s) => s.cpuUsMean) },
        { name: 'p95', values: serving.map((s) => s.cpuUsP95) },
      ],
      'µs',
    ),
  );
  parts.push(
    lineChart(
      'Serving: latency ms',
      serving.map((s) => s.date),
      [
        { name: 'p50', values: serving.map((s) => s.latencyMsP50) },
        { name: 'p95', values: serving.map((s) => s.latencyMsP95) },
      ],
      'ms',
    ),
  );
  // Alarms and actions.
  parts.push('<h2 id="alarms">Alarms and actions</h2>');
  if (d.alarms)
    parts.push(
      `<p>Run ${d.alarms.run}${d.alarms.dry_run ? ' (dry run)' : ''}. Aliases: ${Object.entries(d.alarms.aliases)
        .filter(([k]) => k !== 'updated_at')
        .map(([k, v]) => `${esc(k)} <code>${esc(v ?? '–')}</code>`)
        .join(', ')}.</p>`,
    );
  parts.push(
    table(
      ['rule', 'action', 'status', 'streak', 'detail'],
      (d.alarms?.alarms ?? []).map((a) => [
        esc(a.rule),
        esc(a.action),
        `<span class="st-${esc(a.status)}">${esc(a.status)}</span>`,
        String(a.consecutive),
        esc(a.message),
      ]),
    ),
  );
  parts.push('<h3>Action log</h3>');
  parts.push(
    table(
      ['time', 'rule', 'action', 'status', 'version', 'detail'],
      [...d.actions]
        .reverse()
        .slice(0, 50)
        .map((a) => [
          esc(a.ts),
          esc(a.rule),
          esc(a.action),
          esc(a.status),
          `<code>${esc(a.version ?? '–')}</code>`,
          esc(a.detail),
        ]),
    ),
  );

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Monitoring · bolsillo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:980px;color:#222;padding:0 1rem}
h1{margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
code{font-size:.8rem}.bad{color:#d62728;font-weight:bold}.empty{color:#777;font-style:italic}
.grid{display:flex;flex-wrap:wrap;gap:.5rem}.st-firing{color:#d62728;font-weight:bold}.st-pending{color:#ff7f0e}.st-latched,.st-cooldown{color:#9467bd}
svg{display:block;margin:.5rem 0}nav a{margin-right:1rem}
</style></head>
<body><h1>Monitoring</h1>
<p>Generated ${esc(d.alarms?.generated_at ?? d.drift?.generated_at ?? 'never: run <code>npx nx run monitor:pipeline</code>')}.</p>
<nav><a href="#drift">Drift</a><a href="#metrics">Metrics</a><a href="#value">Value</a><a href="#costs">Costs</a><a href="#alarms">Alarms</a></nav>
${parts.join('\n')}
</body></html>
`;
}

/**
 * The `/monitoring` page: a self-contained HTML document (inline SVG charts, no scripts, no external
 * resources) built from `DATA_DIR/monitoring/report/*.json` and the action log.
 *
 * @example app.get('/monitoring', (_req, res) => res.type('html').send(renderMonitoringPage(dataDir)));
 */
export function renderMonitoringPage(dataDir: string): string {
  const mon = dataLayout(dataDir).monitoring;
  const report = (name: string) => {
    try {
      return readJson<unknown>(path.join(mon, 'report', name), null);
    } catch {
      return null;
    }
  };
  const safeJsonl = <T>(file: string): T[] => {
    try {
      return fs.existsSync(file) ? readJsonl<T>(file) : [];
    } catch {
      return [];
    }
  };
  return renderMonitoringHtml({
    drift: report('drift.json') as MonitoringPageData['drift'],
    metrics: report('model-metrics.json') as MonitoringPageData['metrics'],
    value: report('value.json') as MonitoringPageData['value'],
    costs: report('costs.json') as MonitoringPageData['costs'],
    alarms: report('alarms.json') as MonitoringPageData['alarms'],
    data: report('data.json') as MonitoringPageData['data'],
    actions: safeJsonl<ActionRecord>(path.join(mon, 'actions.jsonl')),
    driftHistory: safeJsonl<MonitoringPageData['driftHistory'][number]>(path.join(mon, 'drift-history.jsonl')).slice(
      -100,
    ),
  });
}
