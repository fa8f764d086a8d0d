#!/usr/bin/env tsx
import {
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
import { runConsumer, type PushCounts } from './consume';
import { LandingWriter } from './landing';
import { OnlineFeatures } from './online-features';
import { PushService } from './push';

/** How often the running counts are logged (ms). */
const PROGRESS_MS = 10_000;

const outcomes = (c: PushCounts & { readonly messages: number }) =>
  `${c.messages} messages: ${c.applied} applied, ${c.duplicate} duplicate, ${c.late} late, ${c.invalid} invalid`;

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
      description: 'Durable consumer name (its position survives restarts; run one consumer process per durable).',
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
        snapshotFile: layout.onlineSnapshot,
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
      // Running counts by outcome (the same four as the API's bolsillo_transaction_pushes_total), logged
      // at most every PROGRESS_MS while messages arrive.
      const totals = { messages: 0, applied: 0, duplicate: 0, late: 0, invalid: 0 };
      let lastProgress = performance.now();
      const s = await runConsumer(
        {
          stream,
          push,
          durable,
          batch: Number(ctx.values.batch),
          idleExitMs: Number(ctx.values['idle-exit-ms']),
          log: ctx.log,
          onBatch: (counts) => {
            for (const k of ['applied', 'duplicate', 'late', 'invalid'] as const) {
              totals[k] += counts[k];
              totals.messages += counts[k];
            }
            if (performance.now() - lastProgress < PROGRESS_MS) return;
            lastProgress = performance.now();
            ctx.log(`so far ${outcomes(totals)}`);
          },
        },
        stop.signal,
      );
      await landing.flush();
      ctx.log(
        `${outcomes(s)}${s.replayed > 0 ? ` (${s.replayed} of them pushed again from a previous run that never acked them)` : ''}`,
      );
      return { rowsIn: s.messages, rowsOut: s.applied, unitIn: 'messages', unitOut: 'applied', summary: { ...s } };
    } finally {
      await stream.close();
      await store.close();
    }
  },
});
