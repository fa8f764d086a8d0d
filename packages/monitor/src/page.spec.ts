import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { renderMonitoringPage } from './page';
import { runMonitor } from './run';
import {
  generatedFeatureRows,
  promoteVersion,
  registerRule,
  RULES,
  shippedConfig,
  tempDataDir,
  removeTempDataDirs,
  writeFeatureStore,
  writeReference,
} from './scenario.test-util';
import { appendJsonl } from '@bolsillo/core';
import { browserPath, itBrowser } from '@bolsillo/testing';

describe('monitoring page', () => {
  afterAll(removeTempDataDirs);
  let dataDir: string;

  beforeAll(async () => {
    dataDir = tempDataDir('page');
    const rows = generatedFeatureRows({ rows: 6000, seed: 5, start: '2019-10-01', end: '2020-03-31' });
    const shifted = generatedFeatureRows({
      rows: 6000,
      seed: 5,
      start: '2019-10-01',
      end: '2020-03-31',
      shift: { amountScale: 4 },
    });
    writeReference(
      dataDir,
      rows.filter((r) => r.date <= '2020-02-15'),
    );
    writeFeatureStore(
      dataDir,
      shifted.filter((r) => r.date > '2020-02-15'),
    );
    const good = await registerRule(dataDir, '20200101T000000Z-aaaaaa', RULES.good, 0.8);
    const poor = await registerRule(dataDir, '20200201T000000Z-bbbbbb', RULES.poor, 0.8);
    promoteVersion(dataDir, good);
    promoteVersion(dataDir, poor);
    appendJsonl(path.join(dataDir, 'monitoring', 'runs.jsonl'), [
      {
        stage: 'features',
        started_at: '2020-03-01T00:00:00.000Z',
        wall_seconds: 4.2,
        cpu_seconds: 3.9,
        peak_rss_mb: 210,
        rows_in: 6000,
        rows_out: 6000,
        status: 'ok',
      },
      {
        stage: 'train',
        started_at: '2020-03-01T00:01:00.000Z',
        wall_seconds: 30.5,
        cpu_seconds: 55,
        peak_rss_mb: 480,
        rows_in: 4000,
        rows_out: 1,
        status: 'ok',
      },
    ]);
    const { params, policy } = shippedConfig();
    for (let i = 0; i < 2; i++)
      await runMonitor({
        dataDir,
        params,
        policy,
        dryRun: false,
        allowRetrain: false,
        now: new Date(Date.UTC(2020, 3, 1 + i)),
        log: () => undefined,
      });
  });

  it('renders every section from the reports, with inline SVG charts and no external resources', () => {
    const html = renderMonitoringPage(dataDir);
    for (const id of ['drift', 'metrics', 'value', 'costs', 'alarms']) expect(html).toContain(`id="${id}"`);
    expect((html.match(/<svg /g) ?? []).length).toBeGreaterThanOrEqual(8);
    expect(html).not.toMatch(/<script|src="http|href="http/);
    expect(html).toContain('rollback');
    expect(html).toContain('retrain');
  });

  it('labels axes with round ticks and legends with whole model versions, at the page width', () => {
    const html = renderMonitoringPage(dataDir);
    const labels = [...html.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
    // Ticks like "97.500" or "200.000" carry zeros that say nothing.
    expect(labels.filter((t) => /^-?[\d,]*\.\d*0$/.test(t))).toEqual([]);
    expect(labels).toContain('20200101T000000Z-aaaaaa');
    expect(labels.some((t) => t.endsWith('…'))).toBe(false);
    expect(html).toContain('width="100%"');
  });

  it('renders an empty data folder without failing', () => {
    const html = renderMonitoringPage(tempDataDir('empty'));
    expect(html).toContain('<h1>Monitoring</h1>');
    expect(html).toContain('no data yet');
  });

  itBrowser('loads in headless Chromium without console errors (screenshot)', async () => {
    const browser = await chromium.launch({
      executablePath: browserPath(),
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      const file = path.join(dataDir, 'monitoring.html');
      fs.writeFileSync(file, renderMonitoringPage(dataDir));
      await page.goto(`file://${file}`);
      const svgs = await page.locator('svg').count();
      const box = await page.locator('svg').first().boundingBox();
      const shot = await page.screenshot({ fullPage: true, path: path.join(dataDir, 'monitoring.png') });
      expect(errors).toEqual([]);
      expect(svgs).toBeGreaterThanOrEqual(8);
      expect(box!.width).toBeGreaterThan(300);
      expect(shot.subarray(1, 4).toString()).toBe('PNG');
      expect(shot.length).toBeGreaterThan(20_000);
    } finally {
      await browser.close();
    }
  });
});
