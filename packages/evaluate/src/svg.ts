/**
 * A very small SVG chart kit (line, grouped bar, matrix). Hand-written so reports need no chart
 * dependency and open from disk with no script: every plot is a static, self-contained `<svg>`.
 */
import { formatTick, niceTicks } from '@bolsillo/core';
import type { Point } from './curves';

/** Escape text for XML/HTML. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** A colour-blind-safe palette (Okabe–Ito). */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

const W = 520;
const H = 360;
const M = { left: 60, right: 20, top: 36, bottom: 74 };

interface Frame {
  readonly x: (v: number) => number;
  readonly y: (v: number) => number;
  readonly parts: string[];
}

const n3 = (v: number) => (Math.round(v * 10) / 10).toString();

/** A value for a tooltip: three significant digits, grouped thousands. */
const valueLabel = (v: number) =>
  Math.abs(v) >= 1000 ? Math.round(v).toLocaleString('en-US') : Number(v.toPrecision(3)).toString();

/** A legend entry. */
interface LegendItem {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
}

const LEGEND_ROW = 16;
/** Approximate advance of an 11px system-ui character; generous, so that a name is never clipped. */
const CHAR_W = 6.6;

/** Legend entries laid out in rows that fit the chart's width. */
function legendRows(items: readonly LegendItem[]): LegendItem[][] {
  const width = W - M.left - M.right;
  const rows: LegendItem[][] = [[]];
  let used = 0;
  for (const it of items) {
    const w = 30 + it.name.length * CHAR_W;
    if (used > 0 && used + w > width) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1]!.push(it);
    used += w;
  }
  return rows;
}

function frame(
  kind: string,
  title: string,
  xLabel: string,
  yLabel: string,
  xDom: [number, number],
  yDom: [number, number],
  legend: readonly LegendItem[],
  xTicks?: { v: number; label: string }[],
): Frame {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const rows = legendRows(legend);
  const height = H + (rows.length - 1) * LEGEND_ROW;
  const x = (v: number) => M.left + ((v - xDom[0]) / (xDom[1] - xDom[0] || 1)) * pw;
  const y = (v: number) => M.top + ph - ((v - yDom[0]) / (yDom[1] - yDom[0] || 1)) * ph;
  // width 100%: the chart takes the width of its figure; the viewBox keeps its proportions.
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="100%" role="img" aria-label="${esc(title)}" data-plot="${esc(kind)}" font-family="system-ui, sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${height}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${esc(title)}</text>`,
  ];
  const yt = niceTicks(yDom[0], yDom[1]);
  for (const t of yt.values) {
    parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${n3(y(t))}" y2="${n3(y(t))}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${M.left - 6}" y="${n3(y(t) + 4)}" text-anchor="end">${formatTick(t, yt.step)}</text>`);
  }
  const xt = niceTicks(xDom[0], xDom[1]);
  for (const t of xTicks ?? xt.values.map((v) => ({ v, label: formatTick(v, xt.step) }))) {
    parts.push(`<line x1="${n3(x(t.v))}" x2="${n3(x(t.v))}" y1="${M.top + ph}" y2="${M.top + ph + 4}" stroke="#333"/>`);
    parts.push(`<text x="${n3(x(t.v))}" y="${M.top + ph + 16}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  parts.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${M.left + pw / 2}" y="${M.top + ph + 34}" text-anchor="middle">${esc(xLabel)}</text>`);
  parts.push(
    `<text transform="translate(16 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  rows.forEach((row, r) => {
    let cx = M.left;
    const cy = H - 14 + r * LEGEND_ROW;
    for (const it of row) {
      parts.push(
        `<line x1="${n3(cx)}" x2="${n3(cx + 18)}" y1="${cy - 4}" y2="${cy - 4}" stroke="${it.color}" stroke-width="3"${it.dashed ? ' stroke-dasharray="4 3"' : ''}/>`,
      );
      parts.push(`<text x="${n3(cx + 22)}" y="${cy}">${esc(it.name)}</text>`);
      cx += 30 + it.name.length * CHAR_W;
    }
  });
  return { x, y, parts };
}

/** A line series. */
export interface Series {
  readonly name: string;
  readonly points: readonly Point[];
  readonly color?: string;
  readonly dashed?: boolean;
  readonly markers?: boolean;
}

/** Line chart of one or more series. */
export function lineChart(o: {
  kind: string;
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  xDomain?: [number, number];
  yDomain?: [number, number];
}): string {
  const all = o.series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  const dom = (vals: number[]): [number, number] => {
    if (!vals.length) return [0, 1];
    const lo = Math.min(...vals);
    const hi = Math.max(...vals);
    const pad = (hi - lo || Math.abs(hi) || 1) * 0.05;
    return [lo - pad, hi + pad];
  };
  const colorOf = (s: Series, i: number) => s.color ?? PALETTE[i % PALETTE.length]!;
  const items: LegendItem[] = o.series.map((s, i) => ({
    name: s.name,
    color: colorOf(s, i),
    ...(s.dashed ? { dashed: true } : {}),
  }));
  const f = frame(
    o.kind,
    o.title,
    o.xLabel,
    o.yLabel,
    o.xDomain ?? dom(all.map((p) => p.x)),
    o.yDomain ?? dom(all.map((p) => p.y)),
    items,
  );
  o.series.forEach((s, i) => {
    const color = colorOf(s, i);
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    if (pts.length) {
      f.parts.push(
        `<polyline fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 4"' : ''} points="${pts.map((p) => `${n3(f.x(p.x))},${n3(f.y(p.y))}`).join(' ')}"><title>${esc(s.name)}</title></polyline>`,
      );
      if (s.markers)
        for (const p of pts) f.parts.push(`<circle cx="${n3(f.x(p.x))}" cy="${n3(f.y(p.y))}" r="3" fill="${color}"/>`);
    }
  });
  f.parts.push('</svg>');
  return f.parts.join('\n');
}

/** Grouped bar chart: one group per category, one bar per series. Optional line overlay (e.g. a reference level). */
export function barChart(o: {
  kind: string;
  title: string;
  xLabel: string;
  yLabel: string;
  categories: readonly string[];
  series: readonly { name: string; values: readonly number[]; color?: string }[];
  reference?: { name: string; value: number };
}): string {
  const vals = o.series.flatMap((s) => s.values).filter(Number.isFinite);
  const hi = Math.max(o.reference?.value ?? 0, ...vals, 1e-9) * 1.08;
  const k = o.categories.length;
  const colorOf = (s: { color?: string }, i: number) => s.color ?? PALETTE[i % PALETTE.length]!;
  const items: LegendItem[] = [
    ...o.series.map((s, i) => ({ name: s.name, color: colorOf(s, i) })),
    ...(o.reference ? [{ name: o.reference.name, color: '#555', dashed: true }] : []),
  ];
  const f = frame(
    o.kind,
    o.title,
    o.xLabel,
    o.yLabel,
    [0, k],
    [0, hi],
    items,
    o.categories.map((c, i) => ({ v: i + 0.5, label: c })),
  );
  const groupW = (f.x(1) - f.x(0)) * 0.8;
  const barW = groupW / Math.max(1, o.series.length);
  o.series.forEach((s, si) => {
    const color = colorOf(s, si);
    s.values.forEach((v, ci) => {
      if (!Number.isFinite(v)) return;
      const x0 = f.x(ci) + (f.x(1) - f.x(0)) * 0.1 + si * barW;
      f.parts.push(
        `<rect x="${n3(x0)}" y="${n3(f.y(v))}" width="${n3(Math.max(barW - 1, 1))}" height="${n3(f.y(0) - f.y(v))}" fill="${color}"><title>${esc(`${s.name} ${o.categories[ci]}: ${valueLabel(v)}`)}</title></rect>`,
      );
    });
  });
  if (o.reference) {
    f.parts.push(
      `<line x1="${f.x(0)}" x2="${f.x(k)}" y1="${n3(f.y(o.reference.value))}" y2="${n3(f.y(o.reference.value))}" stroke="#555" stroke-dasharray="5 4"/>`,
    );
  }
  f.parts.push('</svg>');
  return f.parts.join('\n');
}

/** 2×2 confusion matrix with counts and shares, shaded by share. */
export function confusionSvg(o: { title: string; tp: number; fp: number; fn: number; tn: number }): string {
  const total = o.tp + o.fp + o.fn + o.tn || 1;
  const size = 120;
  const x0 = 170;
  const y0 = 70;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(o.title)}" data-plot="confusion" font-family="system-ui, sans-serif" font-size="12">`,
    `<title>${esc(o.title)}</title>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="600">${esc(o.title)}</text>`,
    `<text x="${x0 + size}" y="${y0 - 22}" text-anchor="middle" font-weight="600">Predicted</text>`,
    `<text x="${x0 + size / 2}" y="${y0 - 6}" text-anchor="middle">revenge</text>`,
    `<text x="${x0 + (3 * size) / 2}" y="${y0 - 6}" text-anchor="middle">not revenge</text>`,
    `<text transform="translate(${x0 - 60} ${y0 + size}) rotate(-90)" text-anchor="middle" font-weight="600">Actual</text>`,
    `<text x="${x0 - 8}" y="${y0 + size / 2}" text-anchor="end">revenge</text>`,
    `<text x="${x0 - 8}" y="${y0 + (3 * size) / 2}" text-anchor="end">not revenge</text>`,
  ];
  const cells: [string, number, number, number][] = [
    ['TP', o.tp, 0, 0],
    ['FN', o.fn, 1, 0],
    ['FP', o.fp, 0, 1],
    ['TN', o.tn, 1, 1],
  ];
  for (const [name, v, cx, cy] of cells) {
    const share = v / total;
    const good = name === 'TP' || name === 'TN';
    const shade = Math.round(245 - 150 * Math.sqrt(share));
    const fill = good ? `rgb(${shade},${Math.min(255, shade + 20)},255)` : `rgb(255,${shade},${shade})`;
    const x = x0 + cx * size;
    const y = y0 + cy * size;
    parts.push(`<rect x="${x}" y="${y}" width="${size}" height="${size}" fill="${fill}" stroke="#333"/>`);
    parts.push(
      `<text x="${x + size / 2}" y="${y + size / 2 - 6}" text-anchor="middle" font-size="18" font-weight="600">${v}</text>`,
    );
    parts.push(
      `<text x="${x + size / 2}" y="${y + size / 2 + 14}" text-anchor="middle">${name} · ${(100 * share).toFixed(1)}%</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}
