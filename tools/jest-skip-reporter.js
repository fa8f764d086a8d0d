/**
 * Jest reporter: after the run, lists every skipped test with its reason, so that a run without a
 * browser or without the real data file says which tests did not run and why (the gated tests of
 * tools/testing/prerequisites.ts carry the reason in their title: "… [skipped: reason]").
 * A skipped test without such a reason is listed as skipped in the code (it.skip / describe.skip).
 */
const path = require('node:path');

const REASON = /\s\[skipped: (.*)\]$/;

class SkipReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const skipped = [];
    for (const file of results.testResults) {
      for (const test of file.testResults) {
        if (test.status !== 'pending' && test.status !== 'skipped' && test.status !== 'todo') continue;
        const titles = [...test.ancestorTitles, test.title];
        let reason = 'skipped in the code';
        const named = titles.map((t) => {
          const m = REASON.exec(t);
          if (m) reason = m[1];
          return t.replace(REASON, '');
        });
        skipped.push({ file: path.relative(this.rootDir, file.testFilePath), name: named.join(' › '), reason });
      }
    }
    if (skipped.length === 0) return;
    const byReason = new Map();
    for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s]);
    const lines = [`\nSkipped tests: ${skipped.length}`];
    for (const [reason, tests] of byReason) {
      lines.push(`  ${reason}`);
      for (const t of tests) lines.push(`    - ${t.file}: ${t.name}`);
    }
    process.stderr.write(`${lines.join('\n')}\n\n`);
  }
}

module.exports = SkipReporter;
