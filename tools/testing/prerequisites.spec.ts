import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBrowser, findRealData, gate, skippedTitle } from './prerequisites';

describe('test prerequisites', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prerequisites-'));
  const present = path.join(dir, 'chromium');
  fs.writeFileSync(present, '');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('honours CHROMIUM_PATH exclusively when set', () => {
    expect(findBrowser({ CHROMIUM_PATH: present })).toMatchObject({ found: true, path: present, reason: '' });
    const missing = findBrowser({ CHROMIUM_PATH: '/nonexistent' });
    expect(missing).toMatchObject({ found: false, path: '/nonexistent', required: false });
    expect(missing.reason).toContain('CHROMIUM_PATH=/nonexistent not found');
  });

  it('falls back to /usr/bin/chromium and ../shared next to the repository root', () => {
    expect(findBrowser({}).path).toBe('/usr/bin/chromium');
    expect(findRealData({}).path).toBe(path.resolve(__dirname, '../../../shared/data/real/MiBolsillo.csv'));
    expect(findRealData({ BOLSILLO_REAL_DATA: present }).path).toBe(present);
  });

  it('skips a missing prerequisite, fails it when the run requires it, runs a found one', () => {
    expect(gate(findBrowser({ CHROMIUM_PATH: present, REQUIRE_BROWSER: '1' }))).toBe('run');
    expect(gate(findBrowser({ CHROMIUM_PATH: '/nonexistent' }))).toBe('skip');
    expect(gate(findBrowser({ CHROMIUM_PATH: '/nonexistent', REQUIRE_BROWSER: '1' }))).toBe('fail');
    expect(gate(findRealData({ BOLSILLO_REAL_DATA: '/nonexistent', REQUIRE_REAL_DATA: '1' }))).toBe('fail');
    // REQUIRE_BROWSER says nothing about the real data, and the other way round.
    expect(gate(findRealData({ BOLSILLO_REAL_DATA: '/nonexistent', REQUIRE_BROWSER: '1' }))).toBe('skip');
  });

  it('puts the reason in the title in the form the skip reporter reads back', () => {
    const title = skippedTitle('renders', 'no browser: x not found');
    expect(/\s\[skipped: (.*)\]$/.exec(title)?.[1]).toBe('no browser: x not found');
  });
});
