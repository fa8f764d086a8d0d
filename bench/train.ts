/**
 * Train-stage benchmark: the full default search (packages/train/params.json) on one or more data
 * folders that already hold a master table (e.g. a copy of the real file's build output), and on
 * synthetic master tables of N rows. Writes docs/bench-train.md (merged into docs/benchmarks.md).
 *
 * Usage: npx tsx bench/train.ts [--data /tmp/dev-train/real] [--synthetic 100000,1000000] [--out docs/bench-train.md]
 * Each run trains into a fresh registry under os.tmpdir(); nothing is written into the repository
 * except the Markdown table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runTrain } from '../packages/train/src/run';
import { syntheticMasterRows, writeSyntheticMaster } from '../packages/train/src/fixture.test-util';

const { values } = parseArgs({ options: { data: { type: 'string', multiple: true, default: [] }, synthetic: { type: 'string', default: '' }, out: { type: 'string', default: '' } } });

interface Row {
  readonly name: string;
  readonly trainRows: number;
  readonly wall: number;
  readonly cpu: number;
  readonly rss: number;
  readonly summary: Awaited<ReturnType<typeof runTrain>>;
}

async function bench(name: string, dataDir: string): Promise<Row> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const summary = await runTrain({ dataDir, log: (m) => process.stderr.write(`[bench ${name}] ${m}\n`) });
  const cpu = process.cpuUsage(cpu0);
  return { name, trainRows: summary.train_rows, wall: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, rss: process.memoryUsage().rss / 2 ** 20, summary };
}

async function main() {
  const rows: Row[] = [];
  for (const dir of values.data as string[]) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
    fs.cpSync(path.join(dir, 'master'), path.join(work, 'master'), { recursive: true });
    rows.push(await bench(path.basename(dir), work));
    fs.rmSync(work, { recursive: true, force: true });
  }
  for (const n of String(values.synthetic).split(',').filter(Boolean).map(Number)) {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-train-'));
    writeSyntheticMaster(work, syntheticMasterRows(Math.ceil(n / 20), 20, 7));
    rows.push(await bench(`synthetic ${n.toLocaleString('en')}`, work));
    fs.rmSync(work, { recursive: true, force: true });
  }
  const f = (x: number) => x.toFixed(3);
  const lines = [
    '## Train',
    '',
    `Full default search (\`packages/train/params.json\`: algorithm selection on a group sample, finalists with grouped 5-fold CV on all training rows, refit, calibration, registration), ${os.cpus().length} cores shared with other work, backend recorded per run. Generated on ${new Date().toISOString().slice(0, 10)} by \`npx tsx bench/train.ts\`.`,
    '',
    '| data | train rows | candidates (sample → finalists) | chosen | CV PR-AUC (mean ± std) | prior | rule | wall s | CPU s | RSS MB | backend |',
    '|---|---:|---|---|---|---:|---:|---:|---:|---:|---|',
    ...rows.map((r) => {
      const s = r.summary;
      return `| ${r.name} | ${r.trainRows} | ${s.result.sample_trials.length} on ${s.result.sample_rows} rows → ${s.result.full_trials.length} on ${s.result.train_rows} rows | ${s.family} | ${f(s.cv.mean)} ± ${f(s.cv.std)} | ${f(s.baseline_cv.prior ?? NaN)} | ${f(s.baseline_cv.rule ?? NaN)} | ${r.wall.toFixed(1)} | ${r.cpu.toFixed(1)} | ${r.rss.toFixed(0)} | ${s.backend} |`;
    }),
    '',
  ];
  const out = values.out ? path.resolve(String(values.out)) : path.resolve(__dirname, '..', 'docs', 'bench-train.md');
  fs.writeFileSync(out, lines.join('\n'));
  process.stdout.write(lines.join('\n'));
}

void main();
