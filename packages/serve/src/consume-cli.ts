#!/usr/bin/env tsx
import path from 'node:path';
import {
  ONLINE_STORE_FILE,
  NATS_URL_ENV,
  ONLINE_STORE_ENV,
  TRANSACTION_CONSUMER,
  TRANSACTION_SUBJECT,
  connectTransactionStream,
  dataLayout,
  openOnlineStore,
  resolveSecret,
  runCli,
} from '@bolsillo/core';
import { runConsumer } from './consume';
import { LandingWriter } from './landing';
import { OnlineFeatures } from './online-features';
import { PushService } from './push';

void runCli({
  name: 'consume',
  description:
    `Apply the transactions streamed on the JetStream subject ${TRANSACTION_SUBJECT} to the online store: each one is landed durably in ` +
    `DATA_DIR/landing/ for the next ingest and folded into its customer's state with the feature kernel, then acked. ` +
    `NATS at ${NATS_URL_ENV} (default nats://127.0.0.1:4222); the store is ${ONLINE_STORE_ENV} (unset: the embedded store in DATA_DIR/online).`,
  recordRun: false,
  // Long-running and writes only the landing folder and the store: it must not hold the pipeline's data-folder lock.
  readOnly: () => true,
  options: {
    durable: {
      type: 'string',
      description: 'Durable consumer name (its position survives restarts).',
      default: TRANSACTION_CONSUMER,
    },
    batch: {
      type: 'string',
      description: 'Messages per batch (landed with one sync, then acked).',
      default: '256',
      check: (v) => (/^[1-9]\d*$/.test(v) ? null : 'a positive integer'),
    },
    'idle-exit-ms': {
      type: 'string',
      description: 'Exit after this many ms without a message (0: run until SIGTERM/SIGINT).',
      default: '0',
      check: (v) => (/^\d+$/.test(v) ? null : 'a non-negative integer'),
    },
    writer: {
      type: 'string',
      description:
        'Landing writer id (default consumer-<durable>; keep it across restarts so redeliveries are not landed twice).',
    },
  },
  run: async (ctx) => {
    const layout = dataLayout(ctx.dataDir);
    const durable = String(ctx.values.durable);
    const store = await openOnlineStore({ url: process.env[ONLINE_STORE_ENV], embeddedDir: layout.onlineEmbedded });
    const stream = await connectTransactionStream(process.env[NATS_URL_ENV] || 'nats://127.0.0.1:4222');
    const stop = new AbortController();
    const onSignal = (signal: string) => {
      ctx.log(`${signal}: finishing the current batch`);
      stop.abort();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    try {
      const features = new OnlineFeatures({
        store,
        snapshotFile: path.join(layout.onlineStore, ONLINE_STORE_FILE),
        secret: resolveSecret(process.env, ctx.log),
        log: ctx.log,
      });
      const landing = LandingWriter.open(
        layout.landing,
        typeof ctx.values.writer === 'string' ? ctx.values.writer : `consumer-${durable}`,
      );
      const push = new PushService({ store, landing, keyFor: (p) => features.keyFor(p)! });
      ctx.log(
        `consuming ${TRANSACTION_SUBJECT} as ${durable} into the ${store.backend} store (${landing.size} transactions already landed by ${landing.writer})`,
      );
      const s = await runConsumer(
        {
          stream,
          push,
          durable,
          batch: Number(ctx.values.batch),
          idleExitMs: Number(ctx.values['idle-exit-ms']),
          log: ctx.log,
        },
        stop.signal,
      );
      await landing.flush();
      ctx.log(
        `${s.messages} messages: ${s.applied} applied, ${s.duplicate} duplicate, ${s.late} late, ${s.invalid} invalid`,
      );
      return { rowsIn: s.messages, rowsOut: s.applied, unitIn: 'messages', unitOut: 'applied', summary: { ...s } };
    } finally {
      await stream.close();
      await store.close();
    }
  },
});
