#!/usr/bin/env node
// Prints a fingerprint of the raw input folder (RAW_DIR, default data/raw): every file's name, size
// and modification time. Nx uses it as a runtime input of the ingest pipeline target, so a new,
// changed or removed drop re-runs ingest even when RAW_DIR is outside the workspace. The landing folder
// (DATA_DIR/landing: transactions pushed over HTTP or the stream) is listed the same way.
const fs = require('node:fs');
const path = require('node:path');
const dir = path.resolve(process.env.RAW_DIR || path.join('data', 'raw'));
const entries = fs.existsSync(dir)
  ? fs
      .readdirSync(dir)
      .filter((f) => /\.csv$/i.test(f))
      .sort()
      .map((f) => {
        const st = fs.statSync(path.join(dir, f));
        return `${f}:${st.size}:${Math.floor(st.mtimeMs)}`;
      })
  : ['<missing>'];
const landing = path.resolve(process.env.DATA_DIR || 'data', 'landing');
const landed = [];
if (fs.existsSync(landing)) {
  for (const w of fs.readdirSync(landing).sort()) {
    const d = path.join(landing, w);
    if (!fs.statSync(d).isDirectory()) continue;
    for (const f of fs
      .readdirSync(d)
      .filter((n) => n.endsWith('.jsonl'))
      .sort()) {
      const st = fs.statSync(path.join(d, f));
      landed.push(`landing/${w}/${f}:${st.size}:${Math.floor(st.mtimeMs)}`);
    }
  }
}
process.stdout.write(`${dir}\n${entries.join('\n')}\n${landed.join('\n')}\n`);
