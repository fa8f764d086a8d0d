#!/usr/bin/env tsx
import fs from 'node:fs';
import path from 'node:path';
import { NATS_URL_ENV, TRANSACTION_SUBJECT, connectTransactionStream, loadParams, runCli } from '@bolsillo/core';
import { pushRecordsFromCsv } from './produce';
import { IngestParamsSchema, DEFAULT_PARAMS_FILE } from './params';

/** Publishes awaiting their acknowledgement at most (the stream's flow control). */
const IN_FLIGHT = 512;

if (require.main === module) {
  void runCli({
    name: 'produce',
    description:
      `Replay a raw MiBolsillo CSV as live transactions, in time order: publish each valid row to the JetStream subject ${TRANSACTION_SUBJECT} ` +
      `(NATS at ${NATS_URL_ENV}, default nats://127.0.0.1:4222) with its ingest id (file#line) as the message id, so the stream drops a replayed ` +
      'duplicate; or write them as JSON lines (--jsonl) for POST /transactions.',
    recordRun: false,
    readOnly: () => true,
    options: {
      csv: { type: 'string', description: 'The raw CSV to replay.' },
      jsonl: {
        type: 'string',
        description: 'Write the transactions to this JSON-lines file instead of publishing them.',
      },
      limit: {
        type: 'string',
        description: 'Publish at most this many (the first in time order).',
        check: (v) => (/^\d+$/.test(v) ? null : 'a non-negative integer'),
      },
      params: {
        type: 'string',
        description: 'Ingest params (the age limits decide which rows are valid).',
        default: DEFAULT_PARAMS_FILE,
      },
    },
    run: async ({ values, log }) => {
      if (typeof values.csv !== 'string') throw new Error('--csv is required');
      const params = loadParams(path.resolve(String(values.params)), IngestParamsSchema);
      const replay = pushRecordsFromCsv(values.csv, { minAge: params.min_age, maxAge: params.max_age });
      const records = typeof values.limit === 'string' ? replay.records.slice(0, Number(values.limit)) : replay.records;
      log(
        `${records.length} transactions from ${values.csv} (${replay.rejected} rows ingest would quarantine left out)`,
      );
      if (typeof values.jsonl === 'string') {
        fs.writeFileSync(values.jsonl, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
        return { rowsIn: replay.records.length + replay.rejected, rowsOut: records.length, unitOut: 'lines' };
      }
      const stream = await connectTransactionStream(process.env[NATS_URL_ENV] || 'nats://127.0.0.1:4222');
      let duplicates = 0;
      try {
        const pending = new Set<Promise<void>>();
        const t0 = performance.now();
        for (const r of records) {
          const p = stream.js.publish(TRANSACTION_SUBJECT, JSON.stringify(r), { msgID: r.txn_id }).then((ack) => {
            if (ack.duplicate) duplicates += 1;
            pending.delete(p);
          });
          pending.add(p);
          if (pending.size >= IN_FLIGHT) await Promise.race(pending);
        }
        await Promise.all(pending);
        const s = (performance.now() - t0) / 1000;
        log(
          `published ${records.length} (${duplicates} already in the stream) in ${s.toFixed(2)} s: ${Math.round(records.length / s)} messages/s`,
        );
      } finally {
        await stream.close();
      }
      return {
        rowsIn: replay.records.length + replay.rejected,
        rowsOut: records.length - duplicates,
        unitOut: 'messages',
        summary: { duplicates },
      };
    },
  });
}
