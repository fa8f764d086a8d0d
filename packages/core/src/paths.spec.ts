import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as schema from '@bolsillo/schema';
import { DecisionSchema, MasterLatestSchema, SelectionSchema } from '@bolsillo/schema';
import { readContract, readContractLines, writeContract } from './contract';
import { ONLINE_STORE_FILE } from './feature-kernel';
import { DATASETS, catalogueMarkdown, dataLayout, registryLayout, schemaName, type Dataset } from './paths';

const ARCHITECTURE = path.resolve(__dirname, '../../../docs/architecture.md');

/** The rows of the first Markdown table in `lines`, as trimmed cells (the separator row left out). */
function tableRows(lines: readonly string[]): string[][] {
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (let i = first; i >= 0 && i < lines.length && lines[i]!.startsWith('|'); i++)
    rows.push(
      lines[i]!.slice(1, -1)
        .split(' | ')
        .map((c) => c.trim()),
    );
  return rows.filter((r) => !r.every((c) => /^-+$/.test(c)));
}

describe('the dataset catalogue', () => {
  it('is listed in docs/architecture.md, entry by entry (regenerate with catalogueMarkdown(), then Prettier)', () => {
    const doc = fs.readFileSync(ARCHITECTURE, 'utf8').split('\n');
    const section = doc.slice(doc.indexOf('## The dataset catalogue'));
    expect(section.length).toBeLessThan(doc.length);
    expect(tableRows(section)).toEqual(tableRows(catalogueMarkdown().split('\n')));
  });

  it('names each contract by its export in @bolsillo/schema', () => {
    const exported = schema as unknown as Record<string, unknown>;
    for (const [key, d] of Object.entries(DATASETS as Record<string, Dataset>)) {
      if (!d.schema) continue;
      expect([key, exported[`${schemaName(d.schema)}Schema`]]).toEqual([key, d.schema]);
    }
  });

  it('gives every JSON file handed from one stage to another a contract', () => {
    const without = Object.entries(DATASETS as Record<string, Dataset>)
      .filter(([, d]) => (d.format === 'json' || d.format === 'jsonl') && !d.schema && !d.contract)
      .filter(([, d]) => !/^(people|ingest)$/.test(d.readers))
      .map(([key]) => key);
    expect(without).toEqual([]);
  });

  it('resolves plain entries to paths and entries with an id to functions of it', () => {
    const layout = dataLayout('/data');
    expect(layout.root).toBe(path.resolve('/data'));
    expect(layout.masterLatest).toBe(path.resolve('/data/master/latest.json'));
    expect(layout.masterSelection('3fa9')).toBe(path.resolve('/data/master/3fa9/selection.json'));
    expect(layout.modelDecision('20240101T000000Z-abcdef')).toBe(
      path.resolve('/data/registry/models/20240101T000000Z-abcdef/decision.json'),
    );
    expect(path.basename(layout.onlineSnapshot)).toBe(ONLINE_STORE_FILE);
    expect(registryLayout('/elsewhere').registryAliases).toBe(path.resolve('/elsewhere/aliases.json'));
    expect(registryLayout(layout.registry).modelCard('v')).toBe(layout.modelCard('v'));
  });

  it('refuses an id that is not one file or folder name', () => {
    const layout = dataLayout('/data');
    for (const id of ['', '.', '..', '../../etc', 'a/b'])
      expect(() => layout.masterDir(id)).toThrow('is not a file or folder name');
  });
});

describe('contracts', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'contracts-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('rejects a file missing a field, naming the file, the contract and the field', () => {
    const file = path.join(dir, 'selection.json');
    fs.writeFileSync(file, JSON.stringify({ fitted_on: 'train', rows: 10, decisions: [] }));
    expect(() => readContract(file, SelectionSchema)).toThrow(
      `${file} is not a valid Selection: /features is required`,
    );
  });

  it('rejects a corrupted field and a file that is not JSON', () => {
    const file = path.join(dir, 'latest.json');
    fs.writeFileSync(file, JSON.stringify({ hash: '../elsewhere' }));
    expect(() => readContract(file, MasterLatestSchema)).toThrow(
      `${file} is not a valid MasterLatest: /hash must match ^[A-Za-z0-9_-]+$ (got "../elsewhere")`,
    );
    fs.writeFileSync(file, '{"hash": "ab');
    expect(() => readContract(file, MasterLatestSchema)).toThrow(`${file}: not valid JSON`);
  });

  it('gives the fallback for a missing file only, and says which file is missing otherwise', () => {
    const file = path.join(dir, 'none.json');
    expect(readContract(file, MasterLatestSchema, null)).toBeNull();
    expect(() => readContract(file, MasterLatestSchema)).toThrow(`${file}: file not found`);
  });

  it('writes the same bytes as writeJsonAtomic, and refuses what a reader would reject', () => {
    const file = path.join(dir, 'decision.json');
    const decision = { threshold: 0.3, objective: 'f1' as const, value_matrix: { tp: 1, fp: 0, fn: -1, tn: 0 } };
    writeContract(file, DecisionSchema, decision);
    expect(fs.readFileSync(file, 'utf8')).toBe(`${JSON.stringify(decision, null, 2)}\n`);
    // NaN is written as null: a threshold must be a number, so the file is never written.
    expect(() => writeContract(file, DecisionSchema, { ...decision, threshold: NaN })).toThrow(
      `${file} is not a valid Decision: /threshold must be a number (got null)`,
    );
    expect(readContract(file, DecisionSchema)).toEqual(decision);
  });

  it('validates every entry of a JSON-lines file', () => {
    const file = path.join(dir, 'runs.jsonl');
    const run = {
      stage: 'build',
      started_at: '2024-01-01T00:00:00Z',
      wall_seconds: 1,
      cpu_seconds: 1,
      peak_rss_mb: 100,
      rows_in: 1,
      rows_out: 1,
      status: 'ok',
    };
    fs.writeFileSync(file, `${JSON.stringify(run)}\n${JSON.stringify({ ...run, rows_in: -1.5 })}\n`);
    expect(() => readContractLines(file, schema.StageRunSchema)).toThrow(
      `${file} entry 2 is not a valid StageRun: /rows_in must be an integer (got -1.5)`,
    );
  });
});
