#!/usr/bin/env node
// Nx runtime input of every pipeline target: the data folder and its identity (see data-folder.js).
// A deleted or new DATA_DIR has a new identity, so its stages run instead of replaying cache hits whose
// outputs were never stored (Nx keeps outputs only inside the workspace).
const { dataDirFromEnv, dataIdentity } = require('./data-folder');
const dir = dataDirFromEnv();
process.stdout.write(`${dir}\n${dataIdentity(dir)}\n`);
