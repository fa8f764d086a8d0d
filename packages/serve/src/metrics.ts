/**
 * A small Prometheus registry (text exposition format 0.0.4). Written here rather than pulled in
 * because the API needs four metric kinds and the hot path must stay a few map look-ups.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Keys of frozen label sets (the hot path passes the same frozen objects again and again). */
const frozenKeys = new WeakMap<Labels, string>();

/**
 * The series key of a label set: sorted `name="value"` pairs (a plain loop: it runs three times per
 * request). A frozen label set cannot change, so its key is computed once.
 */
function labelKey(labels: Labels): string {
  if (!Object.isFrozen(labels)) return buildLabelKey(labels);
  let key = frozenKeys.get(labels);
  if (key === undefined) frozenKeys.set(labels, (key = buildLabelKey(labels)));
  return key;
}

function buildLabelKey(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  let key = '';
  for (let i = 0; i < keys.length; i += 1) {
    const v = labels[keys[i]!]!;
    key += `${i > 0 ? ',' : ''}${keys[i]}="${/[\\\n"]/.test(v) ? escapeLabel(v) : v}"`;
  }
  return key;
}

/** A monotonically increasing counter with labels. */
export class Counter {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels: Labels = {}, by = 1): void {
    const key = labelKey(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelKey(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [key, value] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ''} ${value}`);
    return lines.join('\n');
  }
}

/** A gauge with labels (set, not accumulated). */
export class Gauge {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(labels: Labels, value: number): void {
    this.values.set(labelKey(labels), value);
  }
  reset(): void {
    this.values.clear();
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    for (const [key, value] of this.values) lines.push(`${this.name}${key ? `{${key}}` : ''} ${value}`);
    return lines.join('\n');
  }
}

/** Latency buckets in seconds: sub-millisecond resolution, because scoring itself costs microseconds. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const;

interface HistogramSeries {
  counts: number[];
  sum: number;
  count: number;
}

/** A cumulative histogram with labels. */
export class Histogram {
  private readonly series = new Map<string, HistogramSeries>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[] = LATENCY_BUCKETS,
  ) {}
  observe(labels: Labels, value: number): void {
    const key = labelKey(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    // Store per-bucket counts; cumulate when rendering so observe stays O(buckets) without writes beyond one slot.
    let i = 0;
    while (i < this.buckets.length && value > this.buckets[i]!) i += 1;
    if (i < this.buckets.length) s.counts[i]! += 1;
    s.sum += value;
    s.count += 1;
  }
  count(labels: Labels = {}): number {
    return this.series.get(labelKey(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [key, s] of this.series) {
      const prefix = key ? `${key},` : '';
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i]!;
        lines.push(`${this.name}_bucket{${prefix}le="${b}"} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${key ? `{${key}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${key ? `{${key}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}

/** Every metric the serving process exports at `GET /metrics`. */
export interface ServeMetrics {
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly predictions: Counter;
  readonly modelLoads: Counter;
  readonly modelInfo: Gauge;
  readonly logDropped: Counter;
  readonly shadowErrors: Counter;
  /** Predictions whose category value the serving model never saw in its training data (served all the same). */
  readonly unseenCategories: Counter;
  /** Transactions pushed to `POST /transactions`, by outcome ({@link PUSH_OUTCOMES}). */
  readonly pushes: Counter;
  /** The whole registry in Prometheus text format. */
  render(): string;
  /** Stop the event-loop delay monitor, if any. */
  close(): void;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /**
   * Export the event-loop delay (`bolsillo_event_loop_delay_seconds`, quantiles and max since the
   * previous scrape): stalls of the one request thread show there before they show in latency.
   */
  readonly eventLoopDelay?: boolean;
}

/** Sampling period of the event-loop delay monitor (ms). */
export const EVENT_LOOP_SAMPLING_MS = 5;

/**
 * Event-loop delay quantiles over the window since the previous render. perf_hooks' histogram records
 * the whole interval between two ticks of its timer, so an idle loop reads about the sampling period
 * (5 ms); the period is subtracted here, so the metric is the delay itself (0 on an idle loop).
 */
class EventLoopDelay {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLING_MS });
  constructor() {
    this.histogram.enable();
  }
  render(): string {
    const h = this.histogram;
    const name = 'bolsillo_event_loop_delay_seconds';
    const s = (ns: number) =>
      h.count > 0 && Number.isFinite(ns) ? Math.max(0, ns / 1e6 - EVENT_LOOP_SAMPLING_MS) / 1e3 : 0;
    const lines = [
      `# HELP ${name} Event-loop delay since the previous scrape (beyond the ${EVENT_LOOP_SAMPLING_MS} ms sampling timer's period): quantiles and max.`,
      `# TYPE ${name} gauge`,
    ];
    for (const q of [0.5, 0.99, 0.999]) lines.push(`${name}{quantile="${q}"} ${s(h.percentile(q * 100))}`);
    lines.push(`${name}{quantile="1"} ${s(h.max)}`);
    h.reset();
    return lines.join('\n');
  }
  close(): void {
    this.histogram.disable();
  }
}

/**
 * What a push did with a transaction: the store's outcomes (applied; duplicate: this id was applied
 * already; late: dated before the customer's state, recorded and not folded) and invalid (refused by
 * validation; a request is refused whole, so every transaction in it counts).
 */
export const PUSH_OUTCOMES = ['applied', 'duplicate', 'late', 'invalid'] as const;
export type PushOutcome = (typeof PUSH_OUTCOMES)[number];

/** A fresh metrics registry (one per app, so tests do not share counts). */
export function createMetrics(options: MetricsOptions = {}): ServeMetrics {
  const requests = new Counter('bolsillo_http_requests_total', 'HTTP requests by route, method and status code.');
  const latency = new Histogram('bolsillo_http_request_duration_seconds', 'HTTP request latency by route.');
  const predictions = new Counter('bolsillo_predictions_total', 'Predictions by label, model version and variant.');
  const modelLoads = new Counter(
    'bolsillo_model_load_events_total',
    'Model load attempts by alias, version and result (loaded, load_failed, smoke_failed).',
  );
  const modelInfo = new Gauge('bolsillo_model_info', 'Model currently serving each variant (value 1).');
  const logDropped = new Counter(
    'bolsillo_prediction_log_dropped_total',
    'Prediction-log lines dropped because the buffer was full or a write failed.',
  );
  const shadowErrors = new Counter(
    'bolsillo_shadow_errors_total',
    'Challenger shadow predictions that failed (never affect the answer).',
  );
  const unseenCategories = new Counter(
    'bolsillo_unseen_category_total',
    "Predictions with a category value absent from the serving model's training data, by feature and model version (scored as out-of-vocabulary).",
  );
  const pushes = new Counter(
    'bolsillo_transaction_pushes_total',
    'Transactions pushed to POST /transactions by outcome: applied, duplicate (id already applied), late (dated before the customer state: recorded, not folded), invalid (in a request refused with 400).',
  );
  // Every outcome from the start, so a rate over a series that has not happened yet reads 0, not absent.
  for (const outcome of PUSH_OUTCOMES) pushes.inc({ outcome }, 0);
  const loop = options.eventLoopDelay ? new EventLoopDelay() : null;
  const all: { render(): string }[] = [
    requests,
    latency,
    predictions,
    modelLoads,
    modelInfo,
    logDropped,
    shadowErrors,
    unseenCategories,
    pushes,
    ...(loop ? [loop] : []),
  ];
  return {
    requests,
    latency,
    predictions,
    modelLoads,
    modelInfo,
    logDropped,
    shadowErrors,
    unseenCategories,
    pushes,
    render: () => `${all.map((m) => m.render()).join('\n')}\n`,
    close: () => loop?.close(),
  };
}
