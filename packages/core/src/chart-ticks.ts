/**
 * Axis ticks for the hand-drawn SVG charts of the reports and the monitoring page: round values
 * (steps of 1, 2, 2.5 or 5 times a power of ten) labelled with as many decimals as the step needs.
 */

/** About `count` round tick values covering [lo, hi], and their step. */
export function niceTicks(lo: number, hi: number, count = 5): { values: number[]; step: number } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { values: [], step: 1 };
  if (!(hi > lo)) return { values: [lo], step: 1 };
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9)) ?? raw;
  const values: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    values.push(Number((k * step).toPrecision(12)));
  return { values, step };
}

/**
 * A tick label with the decimals its step needs and no more, thousands grouped: steps of 0.25 give
 * "0.25", "0.5"; steps of 0.02 give "0.96", "0.98"; steps of 500 give "1,000", "1,500".
 */
export function formatTick(value: number, step: number): string {
  let decimals = 0;
  if (step > 0 && step < 1) {
    const text = Number(step.toPrecision(6)).toString();
    decimals = text.includes('e-')
      ? Number(text.split('e-')[1]) + (text.split('e-')[0]!.split('.')[1]?.length ?? 0)
      : (text.split('.')[1]?.length ?? 0);
  }
  const text = value.toLocaleString('en-US', {
    minimumFractionDigits: 0,
    maximumFractionDigits: Math.min(decimals, 10),
  });
  return text === '-0' ? '0' : text;
}
