#!/usr/bin/env tsx
import fs from 'node:fs';
import path from 'node:path';
import { createProgress, generateChunks, runCli, type GeneratorShift } from '@bolsillo/core';

const SHIFT_KEYS = ['amountScale', 'ageOffset', 'limitScale', 'nonEssentialShare', 'missingAmountRate'] as const;

/** `amountScale=2,ageOffset=15` (or a JSON object) → a {@link GeneratorShift}. */
export function parseShift(text: string | undefined): GeneratorShift {
  if (!text) return {};
  const entries: [string, unknown][] = text.trim().startsWith('{')
    ? Object.entries(JSON.parse(text) as Record<string, unknown>)
    : text.split(',').map((kv) => {
        const [k, v] = kv.split('=');
        return [(k ?? '').trim(), Number(v)];
      });
  const shift: Record<string, number> = {};
  for (const [k, v] of entries) {
    if (!(SHIFT_KEYS as readonly string[]).includes(k))
      throw new Error(`--shift: unknown key "${k}" (known: ${SHIFT_KEYS.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`--shift: ${k} must be a number`);
    shift[k] = v;
  }
  return shift;
}

if (require.main === module) {
  void runCli({
    name: 'generate',
    description: 'Write synthetic transactions in the exact MiBolsillo CSV dialect (deterministic for a seed).',
    recordRun: false,
    options: {
      rows: { type: 'string', description: 'Number of data rows.', default: '3000' },
      seed: { type: 'string', description: 'Random seed.', default: '7' },
      out: { type: 'string', description: 'Output CSV file.', default: 'data/raw/generated.csv' },
      start: { type: 'string', description: 'First date, YYYY-MM-DD.', default: '2019-04-01' },
      end: { type: 'string', description: 'Last date, YYYY-MM-DD.', default: '2020-05-07' },
      shift: {
        type: 'string',
        description: 'Distribution shift: "amountScale=2,ageOffset=15" (keys: ' + SHIFT_KEYS.join(', ') + ').',
      },
    },
    run: async ({ values, log }) => {
      const rows = Number(values.rows);
      const seed = Number(values.seed);
      if (!Number.isInteger(rows) || rows < 0) throw new Error('--rows must be a non-negative integer');
      if (!Number.isInteger(seed)) throw new Error('--seed must be an integer');
      const out = path.resolve(String(values.out));
      fs.mkdirSync(path.dirname(out), { recursive: true });
      const tmp = `${out}.tmp-${process.pid}`;
      const stream = fs.createWriteStream(tmp);
      const progress = createProgress('generate', { total: rows });
      let bytes = 0;
      let header = true;
      for (const chunk of generateChunks({
        rows,
        seed,
        start: String(values.start),
        end: String(values.end),
        shift: parseShift(values.shift as string | undefined),
      })) {
        bytes += chunk.length;
        if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
        let lines = header ? -1 : 0;
        header = false;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines += 1;
        progress.tick(lines);
      }
      await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
      fs.renameSync(tmp, out);
      progress.done();
      log(`wrote ${out} (${(bytes / 1e6).toFixed(1)} MB)`);
      return { rowsIn: 0, rowsOut: rows };
    },
  });
}
