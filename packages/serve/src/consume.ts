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
  /** Called (and awaited) after each batch is landed and folded, before its acks, with its outcomes. */
  readonly onBatch?: (counts: PushCounts) => void | Promise<void>;
}

/** Transactions by what the push did with them: the four outcomes of a push (see {@link ApplyOutcome}, plus `invalid`). */
export interface PushCounts {
  applied: number;
  duplicate: number;
  late: number;
  invalid: number;
}

/** What a consumer run did. */
export interface ConsumerSummary extends PushCounts {
  messages: number;
  /** Messages a previous run was given but never acked, applied again in stream order at start. */
  replayed: number;
}

/** One message's payload and stream sequence, from a fetch or read back from the stream. */
interface Payload {
  readonly seq: number;
  readonly text: string;
}

/**
 * The stream consumer: pull batches from the durable JetStream consumer, validate each message like
 * `POST /transactions`, land and fold the batch through the same {@link PushService}, and ack each
 * message only after both. A crash before the ack means redelivery, and redelivery changes nothing
 * (landing remembers what this writer landed, the store what it applied). A message that can never
 * be applied (invalid) is terminated with a log line, not redelivered forever.
 *
 * Order: each customer's transactions must be folded in stream order (a transaction dated before the
 * customer's state is `late`, not folded). The server redelivers a crashed run's un-acked messages
 * only after the ack wait, by which time this run would have folded later ones; so at start, the
 * messages the durable has delivered but not seen acked are read back from the stream by sequence and
 * pushed first, in order (those the crashed run finished are duplicates). Their redelivery later is a
 * duplicate too, and is acked then. This needs one consumer process per durable.
 */
export async function runConsumer(options: ConsumerOptions, signal?: AbortSignal): Promise<ConsumerSummary> {
  const { stream, log } = options;
  await ensureTransactionConsumer(stream, options.durable);
  const summary: ConsumerSummary = { messages: 0, replayed: 0, applied: 0, duplicate: 0, late: 0, invalid: 0 };
  const count = async (counts: PushCounts) => {
    for (const k of ['applied', 'duplicate', 'late', 'invalid'] as const) summary[k] += counts[k];
    await options.onBatch?.(counts);
  };

  const info = await stream.jsm.consumers.info(TRANSACTION_STREAM, options.durable);
  if (info.num_ack_pending > 0) {
    const from = info.ack_floor.stream_seq + 1;
    const to = info.delivered.stream_seq;
    const unacked: Payload[] = [];
    for (let seq = from; seq <= to; seq += 1) {
      const m = await stream.jsm.streams.getMessage(TRANSACTION_STREAM, { seq }).catch(() => null);
      if (m) unacked.push({ seq, text: m.string() });
    }
    log(
      `${info.num_ack_pending} messages of a previous run were never acked: pushing stream sequences ${from}..${to} again, in order`,
    );
    for (let i = 0; i < unacked.length; i += options.batch) {
      const { counts } = await pushPayloads(options, unacked.slice(i, i + options.batch));
      await count(counts);
    }
    summary.replayed = unacked.length;
    summary.messages += unacked.length;
  }

  const consumer = await stream.js.consumers.get(TRANSACTION_STREAM, options.durable);
  let idleSince = performance.now();
  while (!signal?.aborted) {
    const messages = [];
    for await (const m of await consumer.fetch({ max_messages: options.batch, expires: 1_000 })) messages.push(m);
    if (messages.length === 0) {
      if (options.idleExitMs > 0 && performance.now() - idleSince > options.idleExitMs) break;
      continue;
    }
    idleSince = performance.now();
    const { counts, invalid } = await pushPayloads(
      options,
      messages.map((m) => ({ seq: m.seq, text: m.string() })),
    );
    await count(counts);
    messages.forEach((m, i) => (invalid.has(i) ? m.term() : m.ack()));
    summary.messages += messages.length;
  }
  return summary;
}

/** Validate, land and fold one batch in order; the outcome counts and which payloads were invalid (by index). */
async function pushPayloads(
  options: Pick<ConsumerOptions, 'push' | 'log'>,
  payloads: readonly Payload[],
): Promise<{ counts: PushCounts; invalid: Set<number> }> {
  const counts: PushCounts = { applied: 0, duplicate: 0, late: 0, invalid: 0 };
  const invalid = new Set<number>();
  const good: TransactionPush[] = [];
  payloads.forEach((p, i) => {
    let record: unknown;
    try {
      record = JSON.parse(p.text);
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
      invalid.add(i);
      options.log(`message ${p.seq} is invalid (never applied): ${errors.slice(0, 5).join('; ')}`);
      return;
    }
    good.push(record as TransactionPush);
  });
  counts.invalid = invalid.size;
  if (good.length > 0) for (const r of await options.push.push(good, true)) counts[r.status] += 1;
  return { counts, invalid };
}
