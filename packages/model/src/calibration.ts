import type { Calibration } from '@bolsillo/schema';

const EPS = 1e-7;

/** Logit of a probability, clipped away from 0 and 1 so it stays finite. */
export function logit(p: number): number {
  const q = Math.min(Math.max(p, EPS), 1 - EPS);
  return Math.log(q / (1 - q));
}

/** Logistic sigmoid. */
export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Apply stored calibration to one raw model probability. */
export function calibrate(cal: Calibration, p: number): number {
  if (cal.method === 'none') return p;
  if (cal.method === 'platt') return sigmoid(cal.a * logit(p) + cal.b);
  const { x, y } = cal;
  if (x.length === 0) return p;
  if (p <= x[0]!) return y[0]!;
  if (p >= x[x.length - 1]!) return y[y.length - 1]!;
  // Binary search for the knot interval, then interpolate linearly.
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! <= p) lo = mid;
    else hi = mid;
  }
  const span = x[hi]! - x[lo]!;
  return span > 0 ? y[lo]! + ((p - x[lo]!) / span) * (y[hi]! - y[lo]!) : y[hi]!;
}
