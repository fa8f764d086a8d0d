import { TRANSACTION_STREAM, ensureTransactionConsumer, type TransactionStream } from '@bolsillo/core';
import { TransactionPushSchema, describeErrors, validatorFor, type TransactionPush } from '@bolsillo/schema';
import type { PushService } from './push';
import { semanticErrors } from './service';

const validPush = validatorFor(TransactionPushSchema);

/** Options of {@link runConsumer}. */
export interface ConsumerOptions {
  readonly stream: TransactionStream;
  readonly push: PushService;
  /** Durable consumer name: its position in the stream survives restarts. */
  readonly durable: string;
  /** Messages fetched and applied per batch (landed with one sync, acked after). */
  readonly batch: number;
  /** Exit after this long without a message (0: run until `stop`). */
  readonly idleExitMs: number;
  readonly log: (message: string) => void;
}

/** What a consumer run did. */
export interface ConsumerSummary {
  messages: number;
  applied: number;
  duplicate: number;
  late: number;
  invalid: number;
}

/**
 * The stream consumer: pull batches from the durable JetStream consumer, validate each message like
 * `POST /transactions`, land and fold the batch through the same {@link PushService}, and ack each
 * message only after both. A crash before the ack means redelivery, and redelivery changes nothing
 * (landing remembers what this writer landed, the store what it applied). A message that can never
 * be applied (invalid) is terminated with a log line, not redelivered forever.
 */
export async function runConsumer(options: ConsumerOptions, signal?: AbortSignal): Promise<ConsumerSummary> {
  const { stream, push, log } = options;
  await ensureTransactionConsumer(stream, options.durable);
  const consumer = await stream.js.consumers.get(TRANSACTION_STREAM, options.durable);
  const summary: ConsumerSummary = { messages: 0, applied: 0, duplicate: 0, late: 0, invalid: 0 };
  let idleSince = performance.now();
  while (!signal?.aborted) {
    const messages = [];
    for await (const m of await consumer.fetch({ max_messages: options.batch, expires: 1_000 })) messages.push(m);
    if (messages.length === 0) {
      if (options.idleExitMs > 0 && performance.now() - idleSince > options.idleExitMs) break;
      continue;
    }
    idleSince = performance.now();
    const good: { m: (typeof messages)[number]; record: TransactionPush }[] = [];
    for (const m of messages) {
      let record: unknown;
      try {
        record = JSON.parse(m.string());
      } catch {
        record = undefined;
      }
      const errors =
        record === undefined
          ? ['not JSON']
          : !validPush(record)
            ? describeErrors(validPush.errors)
            : semanticErrors([record as TransactionPush], false);
      if (errors.length > 0) {
        summary.invalid += 1;
        log(`message ${m.seq} terminated (never redelivered): ${errors.slice(0, 5).join('; ')}`);
        m.term();
        continue;
      }
      good.push({ m, record: record as TransactionPush });
    }
    if (good.length > 0) {
      const results = await push.push(
        good.map((g) => g.record),
        true,
      );
      for (const r of results) summary[r.status] += 1;
      for (const g of good) g.m.ack();
    }
    summary.messages += messages.length;
  }
  return summary;
}
