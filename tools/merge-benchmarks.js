#!/usr/bin/env node
// Rebuilds docs/benchmarks.md from the sections the bench/ scripts write (docs/bench-*.md), in
// pipeline order. Run after any benchmark: node tools/merge-benchmarks.js
const fs = require('node:fs');
const path = require('node:path');
const docs = path.join(__dirname, '..', 'docs');
const order = [
  'pipeline',
  'ingest',
  'features',
  'storage',
  'build',
  'scale',
  'train',
  'train-xgboost',
  'evaluate',
  'api',
  'online-store',
];
const files = fs.readdirSync(docs).filter((f) => /^bench-.+\.md$/.test(f));
files.sort((a, b) => {
  const ia = order.indexOf(a.slice(6, -3));
  const ib = order.indexOf(b.slice(6, -3));
  return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib) || a.localeCompare(b);
});
const intro = [
  '# Benchmarks',
  '',
  'Every figure here is written by a script under `bench/` (see each section for the command) on this',
  "project's machines: 2 cores, 24 GiB, Node 20. The machines are shared and noisy, so compare the",
  'ratios measured within one run (ours against DuckDB, against a bare express endpoint, ...) rather',
  'than absolute numbers across sections. No test asserts a timing.',
  '',
  'Sections: ' + files.map((f) => `[${f.slice(6, -3)}](${f})`).join(' · '),
  '',
].join('\n');
const body = files
  .map((f) => fs.readFileSync(path.join(docs, f), 'utf8').replace(/^# /m, '## ').trim())
  .join('\n\n---\n\n');
fs.writeFileSync(path.join(docs, 'benchmarks.md'), `${intro}\n${body}\n`);
console.log(`docs/benchmarks.md: ${files.length} sections`);
