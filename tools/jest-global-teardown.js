/** Jest global teardown: removes the run's temporary directory made by jest-global-setup.js. */
const fs = require('node:fs');

module.exports = async function globalTeardown() {
  const dir = process.env.BOLSILLO_JEST_TMPDIR;
  if (!dir) return;
  if (process.env.BOLSILLO_KEEP_TEST_TMP === '1') {
    console.error(`[jest] kept test temp folder ${dir}`);
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
};
