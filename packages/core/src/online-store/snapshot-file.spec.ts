import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_FEATURE_PARAMS,
  emptyCustomerState,
  updateCustomerState,
  type FeatureInput,
} from '../feature-kernel/kernel';
import type { OnlineStoreSnapshot } from '../feature-kernel/online-store';
import { baseInput } from './fixtures.test-util';
import { snapshotVersion } from './online-store';
import { SnapshotFile } from './snapshot-file';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-snapshot-file-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const base: FeatureInput = { ...baseInput, city: 'SÃO PAULO', amount: 31.5, merchant_group: 'AUTO PEÇAS' };

/** Customers whose keys and states hold what a byte scanner can get wrong: escapes, brackets in strings, multi-byte UTF-8. */
function awkwardSnapshot(customers: number): OnlineStoreSnapshot {
  const states: OnlineStoreSnapshot['customers'] = {};
  const odd = ['plain', 'quo"te', 'back\\slash\\', 'br{ac}e[s]', 'ção', 'emoji 😀', 'tab\tnew\nline', '\u0001', ',:'];
  for (let c = 0; c < customers; c++) {
    let state = emptyCustomerState();
    for (let t = 0; t < 1 + (c % 5); t++)
      state = updateCustomerState(state, {
        ...base,
        merchant_group: odd[(c + t) % odd.length]!,
        date: `2020-01-${String(10 + t).padStart(2, '0')}`,
        amount: t % 2 === 0 ? null : (c * 7.31) / (t + 1),
      });
    states[`${odd[c % odd.length]}-${String(c).padStart(5, '0')}`] = state;
  }
  return {
    params: { ...DEFAULT_FEATURE_PARAMS, essentialGroups: ['SERVIÇO', 'x"y'] },
    as_of: '2020-01-14',
    customers: states,
  };
}

const lastReplaced = (text: string, find: string, by: string) => {
  const at = text.lastIndexOf(find);
  return `${text.slice(0, at)}${by}${text.slice(at + find.length)}`;
};

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

function readAll(file: string, chunkBytes?: number) {
  const snapshot = SnapshotFile.open(file, chunkBytes === undefined ? {} : { chunkBytes })!;
  try {
    const customers: Record<string, unknown> = {};
    for (const { key, state } of snapshot.customers()) customers[key] = state;
    return { ...snapshot.summary(), entries: customers, version: snapshot.version() };
  } finally {
    snapshot.close();
  }
}

describe('SnapshotFile', () => {
  const store = awkwardSnapshot(60);
  const compact = `${JSON.stringify(store)}\n`;

  it.each([1, 2, 3, 7, 64, 1 << 20])(
    'reads every customer, escapes and UTF-8 intact, in chunks of %i bytes',
    (chunk) => {
      const file = write(`compact-${chunk}.json`, compact);
      const read = readAll(file, chunk);
      expect(read.entries).toEqual(store.customers);
      expect(Object.keys(read.entries)).toEqual(Object.keys(store.customers));
      expect(read.customers).toBe(60);
      expect(read.params).toEqual(store.params);
      expect(read.as_of).toBe(store.as_of);
      // The version is the hash of the text without its trailing newline, as of a whole text.
      expect(read.version).toBe(snapshotVersion(store));
    },
  );

  it('reads any JSON layout: indented, fields in another order, unknown fields', () => {
    const reordered = {
      extra: { nested: ['}'] },
      customers: store.customers,
      as_of: store.as_of,
      params: store.params,
    };
    for (const [name, text] of [
      ['indented', JSON.stringify(store, null, 2)],
      ['reordered', ` \r\n${JSON.stringify(reordered, null, '\t')}`],
    ] as const) {
      const read = readAll(write(`${name}.json`, `${text}\n  \n`), 5);
      expect(read.entries).toEqual(store.customers);
      expect(read.params).toEqual(store.params);
      expect(read.version).toBe(snapshotVersion(text));
    }
  });

  it('hashes the text without its trailing whitespace, however the chunks cut it', () => {
    const text = JSON.stringify(store);
    for (const tail of ['', '\n', ' \n\n \t\r\n', '\n'.repeat(40)])
      for (const chunk of [1, 3, 16, 1 << 20])
        expect(readAll(write('tail.json', `${text}${tail}`), chunk).version).toBe(snapshotVersion(text));
  });

  it('reads a store of many customers in chunks much smaller than one customer', () => {
    const big = awkwardSnapshot(3_000);
    const file = write('big.json', `${JSON.stringify(big)}\n`);
    let n = 0;
    const snapshot = SnapshotFile.open(file, { chunkBytes: 97 })!;
    try {
      const keys = Object.keys(big.customers);
      for (const { key, state } of snapshot.customers()) {
        expect(key).toBe(keys[n]);
        expect(state).toEqual(big.customers[key]);
        n += 1;
      }
      expect(snapshot.summary().customers).toBe(3_000);
    } finally {
      snapshot.close();
    }
    expect(n).toBe(3_000);
  });

  it('never reads the file whole: chunk by chunk, the first customer before the last byte is read', () => {
    const file = write('lazy.json', compact);
    const readFileSync = jest.spyOn(fs, 'readFileSync');
    const readSync = jest.spyOn(fs, 'readSync');
    try {
      const snapshot = SnapshotFile.open(file, { chunkBytes: 256 })!;
      const first = snapshot.customers().next();
      expect(first.done).toBe(false);
      const read = readSync.mock.calls.reduce((sum, call) => sum + Number((call as unknown[])[3]), 0);
      expect(read).toBeLessThan(fs.statSync(file).size / 4);
      snapshot.close();
      expect(readFileSync).not.toHaveBeenCalled();
    } finally {
      readFileSync.mockRestore();
      readSync.mockRestore();
    }
  });

  it('names the file and what is wrong, however far into the file it is', () => {
    const cases: [string, string, RegExp][] = [
      ['truncated', compact.slice(0, compact.length - 200), /not valid JSON \(unexpected end of file/],
      ['bad-last-state', lastReplaced(compact, '"count":', '"count":01'), /not valid JSON/],
      ['trailing', `${compact}x`, /not valid JSON \(unexpected content after the store/],
      ['not-object', '[1,2]', /not valid JSON \(expected an object/],
      [
        'no-params',
        JSON.stringify({ as_of: '2020-01-01', customers: {} }),
        /not an online feature store \(needs params/,
      ],
      ['as-of-number', JSON.stringify({ ...store, as_of: 5 }), /not an online feature store \(as_of is not a string/],
      ['bad-params', JSON.stringify({ ...store, params: {} }), /not an online feature store \(params has/],
      ['customers-array', JSON.stringify({ ...store, customers: [] }), /customers is not an object/],
      ['missing-comma', compact.replace('},"', '}"'), /not valid JSON \(expected ',' or '}'/i],
    ];
    for (const [name, text, message] of cases) {
      const file = write(`${name}.json`, text);
      expect(() => readAll(file, 13)).toThrow(message);
      expect(() => readAll(file, 13)).toThrow(`${file}: `);
    }
  });

  it('opens nothing for a missing file', () => {
    expect(SnapshotFile.open(path.join(tmp, 'missing.json'))).toBeNull();
  });
});
