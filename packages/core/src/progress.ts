/** A throttled progress reporter for long work: rows, percent of a known total, rate. */
export interface Progress {
  /** Add `n` processed units; prints at most every `intervalMs`. */
  tick(n: number, extra?: string): void;
  /** Print the final line. */
  done(extra?: string): void;
}

/**
 * Report progress on stderr (so stdout stays machine-readable).
 *
 * @example const p = createProgress('ingest', { total: bytes, unit: 'bytes' }); p.tick(chunk.length);
 */
export function createProgress(
  label: string,
  options: {
    total?: number;
    unit?: string;
    intervalMs?: number;
    write?: (line: string) => void;
    now?: () => number;
  } = {},
): Progress {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? (() => performance.now());
  const interval = options.intervalMs ?? 2000;
  const unit = options.unit ?? 'rows';
  const start = now();
  let last = start;
  let count = 0;
  const line = (extra?: string) => {
    const seconds = Math.max((now() - start) / 1000, 1e-9);
    const pct = options.total ? ` ${((100 * count) / options.total).toFixed(1)}%` : '';
    const rate = formatCount(count / seconds);
    return `[${label}] ${formatCount(count)} ${unit}${pct} (${rate} ${unit}/s, ${seconds.toFixed(1)}s)${extra ? ` ${extra}` : ''}`;
  };
  return {
    tick(n, extra) {
      count += n;
      const t = now();
      if (t - last >= interval) {
        last = t;
        write(line(extra));
      }
    },
    done(extra) {
      write(line(extra));
    },
  };
}

/** 1234567 → "1.23M". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return `${Math.round(n)}`;
}

/**
 * Seconds since the process started, resident set (and its peak so far) and its parts, for a stage's
 * progress log: time and memory are what bound a stage at scale, and the log says which step spends them.
 */
export function memoryNote(): string {
  const m = process.memoryUsage();
  const mb = (x: number) => `${Math.round(x / 1e6)}`;
  const peak = process.resourceUsage().maxRSS * 1024;
  return `${process.uptime().toFixed(1)} s, rss ${mb(m.rss)} MB (peak ${mb(peak)} MB), heap ${mb(m.heapUsed)} MB, array buffers ${mb(m.arrayBuffers)} MB`;
}
