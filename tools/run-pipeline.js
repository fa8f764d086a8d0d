#!/usr/bin/env node
// Runs the whole pipeline through Nx (`nx run-many -t pipeline`, every stage in dependency order,
// cached) and ends with a table: stage, rows in/out, seconds, cache hit or not.
// Extra arguments go to Nx, e.g. `npm run pipeline -- --skip-nx-cache`.
const { spawn } = require('node:child_process');

const args = ['nx', 'run-many', '-t', 'pipeline', '--outputStyle=stream', ...process.argv.slice(2)];
const child = spawn('npx', args, { stdio: ['ignore', 'pipe', 'inherit'], env: { NX_DAEMON: 'false', ...process.env } });
const stages = new Map();
let buffer = '';
const started = Date.now();

function scan(line) {
  // Nx prefixes streamed lines with "project:target:" or prints "> nx run project:target [cache note]".
  const run = /nx run ([\w-]+):pipeline(.*)$/.exec(line);
  if (run) {
    const s = stages.get(run[1]) ?? { stage: run[1] };
    s.cache = /cache/.test(run[2]) ? 'hit' : s.cache ?? 'miss';
    stages.set(run[1], s);
  }
  const done = /\[([\w-]+)\] done: rows in (\d+), rows out (\d+), ([\d.]+)s/.exec(line);
  if (done) {
    const s = stages.get(done[1]) ?? { stage: done[1], cache: 'miss' };
    Object.assign(s, { rowsIn: Number(done[2]), rowsOut: Number(done[3]), seconds: Number(done[4]) });
    stages.set(done[1], s);
  }
}

child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  buffer += chunk.toString();
  const lines = buffer.split('\n');
  buffer = lines.pop() ?? '';
  lines.forEach(scan);
});

child.on('close', (code) => {
  if (buffer) scan(buffer);
  const rows = [...stages.values()];
  const table = [
    ['stage', 'rows in', 'rows out', 'seconds', 'cache'],
    ...rows.map((s) => [s.stage, s.rowsIn ?? '-', s.rowsOut ?? '-', s.seconds !== undefined ? s.seconds.toFixed(2) : '-', s.cache ?? '-']),
  ].map((r) => r.map(String));
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const fmt = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`\nPipeline summary (${((Date.now() - started) / 1000).toFixed(1)}s${code ? `, FAILED with exit code ${code}` : ''})\n`);
  process.stdout.write(`${fmt(table[0])}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const r of table.slice(1)) process.stdout.write(`${fmt(r)}\n`);
  process.exit(code ?? 1);
});
