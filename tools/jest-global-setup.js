/**
 * Jest global setup: every test writes its temporary folders under one fresh directory
 * (TMPDIR → <os tmp>/bolsillo-jest-XXXXXX) that the global teardown removes, so a test run leaves
 * nothing behind in /tmp even when a test forgets to clean up or fails half-way.
 * Set BOLSILLO_KEEP_TEST_TMP=1 to keep it for debugging (its path is printed).
 * BOLSILLO_TEST_CACHE_DIR points at the machine's real temp folder for the few caches that are meant
 * to outlive one run (build's real-file upstream cache); CI clones are fresh, so it is only a local speed-up.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

module.exports = async function globalSetup() {
  const base = os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'bolsillo-jest-'));
  process.env.BOLSILLO_TEST_CACHE_DIR ??= base;
  process.env.BOLSILLO_JEST_TMPDIR = dir;
  process.env.TMPDIR = dir;
};
