import { seededRandom } from './metrics';

/**
 * A seeded uniform sample of at most `cap` items of a stream of unknown length (reservoir sampling,
 * Algorithm R): the first `cap` items are kept, then item k (0-based) replaces a random slot with
 * probability cap / (k + 1). The random source is drawn only once the reservoir is full, so the same seed
 * and stream give the same sample.
 */
export class Reservoir<T> {
  /** The kept items, in reservoir slot order. */
  readonly items: T[] = [];
  /** Items offered so far. */
  seen = 0;
  private readonly positions: number[] = [];
  private readonly rand: () => number;

  constructor(
    readonly cap: number,
    seed: number,
  ) {
    this.rand = seededRandom(seed);
  }

  /** Offer the next item of the stream. */
  offer(item: T): void {
    const k = this.seen++;
    if (this.items.length < this.cap) {
      this.items.push(item);
      this.positions.push(k);
      return;
    }
    const j = Math.floor(this.rand() * (k + 1));
    if (j < this.cap) {
      this.items[j] = item;
      this.positions[j] = k;
    }
  }

  /**
   * {@link offer} an item that is made only if it is kept: the same draws and the same sample, without
   * building the items the reservoir passes over (most of a long stream).
   */
  offerWith(make: () => T): void {
    const k = this.seen++;
    if (this.items.length < this.cap) {
      this.items.push(make());
      this.positions.push(k);
      return;
    }
    const j = Math.floor(this.rand() * (k + 1));
    if (j < this.cap) {
      this.items[j] = make();
      this.positions[j] = k;
    }
  }

  /** The kept items in the order they were offered. */
  inStreamOrder(): T[] {
    if (this.seen <= this.cap) return [...this.items];
    const slots = this.items.map((_, i) => i).sort((a, b) => this.positions[a]! - this.positions[b]!);
    return slots.map((i) => this.items[i]!);
  }
}
