/**
 * Preloaded (`NODE_OPTIONS=--require …`, see `killAtAppend` in stage-cli.ts) into a process a test kills at
 * one exact point: instead of appending a line containing the text of `BOLSILLO_KILL_AT_APPEND`
 * (`<file name>:<text>`) to that file, the process kills itself with SIGKILL, as a pod evicted between two
 * writes would stop. A point a watcher polling the files could not hit: it lasts microseconds.
 */
const fs = require('node:fs');
const path = require('node:path');

const spec = process.env.BOLSILLO_KILL_AT_APPEND ?? '';
const colon = spec.indexOf(':');
if (colon > 0) {
  const file = spec.slice(0, colon);
  const text = spec.slice(colon + 1);
  const append = fs.appendFileSync;
  fs.appendFileSync = function (target, data, ...rest) {
    if (typeof target === 'string' && path.basename(target) === file && String(data).includes(text))
      process.kill(process.pid, 'SIGKILL');
    return append.call(this, target, data, ...rest);
  };
}
