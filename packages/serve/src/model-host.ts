import fs from 'node:fs';
import { registryLayout } from '@bolsillo/core';
import { AliasesSchema, validatorFor, describeErrors, type Aliases } from '@bolsillo/schema';
import type { ModelLoader, ScoringModel, Variant } from './model';
import type { ServeMetrics } from './metrics';

/** A loaded model and the version it came from. */
export interface ServingSlot {
  readonly version: string;
  readonly model: ScoringModel;
  readonly loadedAt: string;
}

/** Options of {@link ModelHost}. */
export interface ModelHostOptions {
  readonly registryDir: string;
  readonly load: ModelLoader;
  /** A feature row every sane model must score (the Swagger example's features). */
  readonly smokeRow: Record<string, unknown>;
  readonly metrics: ServeMetrics;
  readonly log: (message: string) => void;
  /** How often `aliases.json` is checked for changes (ms). 0 disables watching. */
  readonly pollMs?: number;
}

const validAliases = validatorFor(AliasesSchema);

/** Throws unless the model scores the smoke row to one finite probability and has a usable threshold. */
export function smokeTest(model: ScoringModel, row: Record<string, unknown>): void {
  const p = model.predict([row]);
  if (!(p instanceof Float64Array) || p.length !== 1)
    throw new Error(`smoke test: predict returned ${p?.length ?? 'nothing'} values for 1 row`);
  const v = p[0]!;
  if (!Number.isFinite(v) || v < 0 || v > 1) throw new Error(`smoke test: probability ${v} is not in [0, 1]`);
  if (!Number.isFinite(model.threshold) || model.threshold < 0 || model.threshold > 1)
    throw new Error(`smoke test: threshold ${model.threshold} is not in [0, 1]`);
  const c = model.contributions(row);
  if (c !== null && Object.values(c).some((x) => !Number.isFinite(x)))
    throw new Error('smoke test: contributions are not finite');
}

/**
 * Keeps the champion (and the challenger, if any) loaded and follows `registry/aliases.json`.
 *
 * Switching is safe by construction: a new version is loaded and smoke-tested off to the side and
 * only then assigned to the slot in one statement. Requests read the slot once when they start, so
 * requests in flight finish on the model they began with. A version that fails to load or fails
 * the smoke test is never assigned; the old one keeps serving and the failure is logged and counted.
 */
export class ModelHost {
  private slots: { champion: ServingSlot | null; challenger: ServingSlot | null } = {
    champion: null,
    challenger: null,
  };
  private timer: NodeJS.Timeout | null = null;
  private lastMtime = -1;
  private checking: Promise<void> | null = null;
  private again = false;
  /** Versions that failed, so a broken alias is not retried (and re-counted) every poll. */
  private readonly failed = new Map<string, string>();
  private aliases: Aliases | null = null;
  /** Recently served models, so a rollback switches back without reading the registry again. */
  private readonly recent = new Map<string, ScoringModel>();

  constructor(private readonly options: ModelHostOptions) {}

  get aliasesFile(): string {
    return registryLayout(this.options.registryDir).registryAliases;
  }

  /** The slot serving a variant now (read once per request). */
  slot(variant: Variant): ServingSlot | null {
    return this.slots[variant];
  }

  /** The last valid aliases read from the registry. */
  currentAliases(): Aliases | null {
    return this.aliases;
  }

  /** Versions that were refused, with the reason. */
  refused(): Record<string, string> {
    return Object.fromEntries(this.failed);
  }

  /** Load what the aliases name now, then start polling for changes. */
  async start(): Promise<void> {
    await this.checkNow();
    const pollMs = this.options.pollMs ?? 1000;
    if (pollMs > 0) {
      this.timer = setInterval(() => {
        let mtime: number;
        try {
          mtime = fs.statSync(this.aliasesFile).mtimeMs;
        } catch {
          return;
        }
        if (mtime !== this.lastMtime) void this.checkNow();
      }, pollMs);
      this.timer.unref();
    }
  }

  /** Stop polling. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Re-read the aliases and load whatever changed. Concurrent calls coalesce: at most one check runs,
   * and a call during a check schedules exactly one more.
   */
  checkNow(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = (async () => {
      try {
        do {
          this.again = false;
          await this.syncOnce();
        } while (this.again);
      } finally {
        this.checking = null;
      }
    })();
    return this.checking;
  }

  private readAliases(): Aliases | null {
    let text: string;
    try {
      const stat = fs.statSync(this.aliasesFile);
      this.lastMtime = stat.mtimeMs;
      text = fs.readFileSync(this.aliasesFile, 'utf8');
    } catch {
      return null;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      this.options.log(
        `aliases: ${this.aliasesFile} is not valid JSON (${(error as Error).message}); keeping current models`,
      );
      return null;
    }
    if (!validAliases(parsed)) {
      this.options.log(
        `aliases: ${this.aliasesFile} is invalid (${describeErrors(validAliases.errors).join('; ')}); keeping current models`,
      );
      return null;
    }
    return parsed;
  }

  private async syncOnce(): Promise<void> {
    const aliases = this.readAliases();
    if (!aliases) return;
    this.aliases = aliases;
    await this.follow('champion', aliases.champion);
    await this.follow('challenger', aliases.challenger);
  }

  private async follow(variant: Variant, version: string | null): Promise<void> {
    const current = this.slots[variant];
    if (version === null) {
      // A cleared challenger stops the split; a cleared champion keeps the last good one serving.
      if (variant === 'challenger' && current) {
        this.slots = { ...this.slots, challenger: null };
        this.options.metrics.modelInfo.reset();
        this.publishInfo();
        this.options.log('challenger cleared');
      }
      return;
    }
    if (current?.version === version || this.failed.has(version)) return;
    const t0 = performance.now();
    let model: ScoringModel;
    const cached = this.recent.get(version);
    if (cached) {
      model = cached;
    } else {
      try {
        model = await this.options.load(this.options.registryDir, version);
      } catch (error) {
        this.refuse(variant, version, 'load_failed', (error as Error).message);
        return;
      }
      try {
        smokeTest(model, this.options.smokeRow);
      } catch (error) {
        this.refuse(variant, version, 'smoke_failed', (error as Error).message);
        return;
      }
    }
    // The swap: one assignment of a new object, so a reader sees the old pair or the new one.
    this.slots = { ...this.slots, [variant]: { version, model, loadedAt: new Date().toISOString() } };
    this.recent.delete(version);
    this.recent.set(version, model);
    while (this.recent.size > 4) this.recent.delete(this.recent.keys().next().value!);
    this.options.metrics.modelLoads.inc({ alias: variant, version, result: 'loaded' });
    this.options.metrics.modelInfo.reset();
    this.publishInfo();
    this.options.log(
      `${variant} -> ${version} (${model.card.family}, threshold ${model.threshold.toFixed(4)}, ${cached ? 'from memory' : `loaded in ${(performance.now() - t0).toFixed(0)} ms`})${current ? `, was ${current.version}` : ''}`,
    );
  }

  private refuse(variant: Variant, version: string, result: 'load_failed' | 'smoke_failed', message: string): void {
    this.failed.set(version, `${result}: ${message}`);
    this.options.metrics.modelLoads.inc({ alias: variant, version, result });
    const keeping = this.slots[variant];
    this.options.log(
      `${variant} ${version} refused (${result}: ${message}); ${keeping ? `keeping ${keeping.version}` : 'nothing loaded yet'}`,
    );
  }

  private publishInfo(): void {
    for (const variant of ['champion', 'challenger'] as const) {
      const s = this.slots[variant];
      if (s) this.options.metrics.modelInfo.set({ variant, version: s.version, family: s.model.card.family }, 1);
    }
  }
}
