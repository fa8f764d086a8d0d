import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { runTrain } from './run';
import { syntheticMasterRows, writeSyntheticMaster } from './fixture.test-util';

describe('train reads the build stage through its contracts', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-contracts-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('refuses a selection.json whose feature list is not a list, naming the file and the field', async () => {
    writeSyntheticMaster(dir, syntheticMasterRows(20, 5), 'abc123');
    const file = dataLayout(dir).masterSelection('abc123');
    fs.writeFileSync(file, JSON.stringify({ features: 'amount', fitted_on: 'train', rows: 80, decisions: [] }));
    await expect(runTrain({ dataDir: dir, log: () => undefined })).rejects.toThrow(
      `${file} is not a valid Selection: /features must be an array`,
    );
  });

  it('refuses a master/latest.json without a hash', async () => {
    writeSyntheticMaster(dir, syntheticMasterRows(20, 5), 'abc123');
    const file = dataLayout(dir).masterLatest;
    fs.writeFileSync(file, JSON.stringify({ master: 'abc123' }));
    await expect(runTrain({ dataDir: dir, log: () => undefined })).rejects.toThrow(
      `${file} is not a valid MasterLatest: /hash is required`,
    );
  });
});
