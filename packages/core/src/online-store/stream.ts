import type { JetStreamClient, JetStreamManager, NatsConnection } from 'nats';

/** JetStream subject of pushed transactions (one JSON TransactionPush per message). */
export const TRANSACTION_SUBJECT = 'bolsillo.transactions';
/** The stream that stores the subject, and the consumer's default durable name. */
export const TRANSACTION_STREAM = 'BOLSILLO_TRANSACTIONS';
export const TRANSACTION_CONSUMER = 'bolsillo-online-store';
/** Environment variable with the NATS server URL (default `nats://127.0.0.1:4222`). */
export const NATS_URL_ENV = 'BOLSILLO_NATS_URL';

/** A connection with JetStream, the transaction stream made sure of. */
export interface TransactionStream {
  readonly nc: NatsConnection;
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  close(): Promise<void>;
}

/**
 * Connect to NATS (bounded: fails after `timeoutMs`) and create the transaction stream when it does
 * not exist: file storage, and a de-duplication window in which a message with an already seen
 * `Nats-Msg-Id` (the transaction id) is dropped by the server. The nats client is loaded here, on
 * first use.
 */
export async function connectTransactionStream(url: string, timeoutMs = 5_000): Promise<TransactionStream> {
  const nats = require('nats') as typeof import('nats');
  const nc = await nats.connect({ servers: url, timeout: timeoutMs, maxReconnectAttempts: 10 });
  const jsm = await nc.jetstreamManager();
  try {
    await jsm.streams.info(TRANSACTION_STREAM);
  } catch {
    await jsm.streams.add({
      name: TRANSACTION_STREAM,
      subjects: [TRANSACTION_SUBJECT],
      storage: nats.StorageType.File,
      duplicate_window: nats.nanos(10 * 60_000),
    });
  }
  return {
    nc,
    js: nc.jetstream(),
    jsm,
    close: async () => {
      await nc.drain().catch(() => undefined);
    },
  };
}

/** Create (or keep) the durable pull consumer with explicit acks: an unacked message is redelivered after `ackWaitMs`. */
export async function ensureTransactionConsumer(
  stream: TransactionStream,
  durable = TRANSACTION_CONSUMER,
  ackWaitMs = 30_000,
): Promise<void> {
  const nats = require('nats') as typeof import('nats');
  try {
    await stream.jsm.consumers.info(TRANSACTION_STREAM, durable);
  } catch {
    await stream.jsm.consumers.add(TRANSACTION_STREAM, {
      durable_name: durable,
      ack_policy: nats.AckPolicy.Explicit,
      deliver_policy: nats.DeliverPolicy.All,
      ack_wait: nats.nanos(ackWaitMs),
      max_ack_pending: 10_000,
    });
  }
}
