import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  customerKey,
  openEmbeddedOnlineStore,
  emptyCustomerState,
  updateCustomerState,
  writeJsonAtomic,
  DEFAULT_FEATURE_PARAMS,
  type FeatureInput,
} from '@bolsillo/core';
import { PREDICTION_EXAMPLE } from '@bolsillo/schema';
import { OnlineFeatures } from './online-features';

const SECRET = 'spec-secret';
const { customer_id: id, ...fields } = PREDICTION_EXAMPLE;
const identity = {
  id,
  account_cohort: fields.account_cohort,
  city: fields.city,
  state: fields.state,
  age: fields.age,
  sex: fields.sex,
};

describe('OnlineFeatures', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-online-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('keys a customer exactly as core customerKey does, also from its cache, and none without an id', () => {
    const features = new OnlineFeatures({
      store: openEmbeddedOnlineStore(path.join(dir, 'online')),
      snapshotFile: path.join(dir, 'customers.json'),
      secret: SECRET,
      log: () => undefined,
    });
    const expected = customerKey(SECRET, identity);
    expect(features.keyFor(PREDICTION_EXAMPLE)).toBe(expected);
    expect(features.keyFor({ ...PREDICTION_EXAMPLE })).toBe(expected);
    expect(features.keyFor({ ...PREDICTION_EXAMPLE, age: 37 })).toBe(customerKey(SECRET, { ...identity, age: 37 }));
    expect(features.keyFor({ ...PREDICTION_EXAMPLE, age: 37 })).not.toBe(expected);
    expect(features.keyFor(fields)).toBeNull();
  });

  it('picks up a new store file asynchronously, and keeps the old one when the new file is broken', async () => {
    const file = path.join(dir, 'customers.json');
    const logs: string[] = [];
    const features = new OnlineFeatures({
      store: openEmbeddedOnlineStore(path.join(dir, 'online')),
      snapshotFile: file,
      secret: SECRET,
      log: (m) => logs.push(m),
    });
    expect(features.featuresFor(PREDICTION_EXAMPLE).known).toBe(false);

    const key = customerKey(SECRET, identity);
    const txn: FeatureInput = { ...fields, customer_key: key, date: '2020-05-01', amount: 50 };
    writeJsonAtomic(file, {
      params: DEFAULT_FEATURE_PARAMS,
      as_of: '2020-05-01',
      customers: { [key]: updateCustomerState(emptyCustomerState(), txn) },
    });
    await features.refreshAsync();
    const row = features.featuresFor(PREDICTION_EXAMPLE);
    expect(row.known).toBe(true);
    expect(row.features.days_since_prev).toBe(7);
    expect(features.asOf).toBe('2020-05-01');

    fs.writeFileSync(file, '{"not": "a store"');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    await features.refreshAsync();
    expect(features.asOf).toBe('2020-05-01');
    expect(features.featuresFor(PREDICTION_EXAMPLE).known).toBe(true);
    expect(logs.some((m) => m.includes('keeping the previous one'))).toBe(true);
  });
});
