import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { dataLayout } from '@bolsillo/core';
import { DEFAULT_EVALUATE_PARAMS, type EvaluateParams } from './params';
import { PLOT_ORDER } from './report';
import { runEvaluate } from './run';
import { PALETTE } from './svg';
import { analyseScreenshot } from './screenshot.test-util';
import { makeMasterRows, registerBaselines, registerLogistic, tempDataDir, writeMaster } from './fixtures.test-util';
import { browserPath, describeBrowser } from '@bolsillo/testing';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

const params: EvaluateParams = {
  ...DEFAULT_EVALUATE_PARAMS,
  bootstrap: { iterations: 50, confidence: 0.95 },
  learning_curve: { fractions: [0.2, 0.5, 1], epochs: 20, l2: 0.001 },
};

let browser: Browser;
let dir: string;
let champion: string;
let candidate: string;

/** Open a file page and collect everything that would show up as a console/page/network error. */
async function open(file: string): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`requestfailed: ${r.url()}`));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors };
}

describeBrowser('HTML report in headless Chromium', () => {
  beforeAll(async () => {
    dir = tempDataDir('evaluate-report-');
    const rows = makeMasterRows(1500, 3);
    writeMaster(dir, rows);
    await registerBaselines(dir, rows);
    champion = await registerLogistic(dir, -2, -1);
    await runEvaluate({ dataDir: dir, params });
    candidate = await registerLogistic(dir, -3, -12);
    await runEvaluate({ dataDir: dir, params });
    browser = await chromium.launch({ executablePath: browserPath(), args: ARGS });
  });

  afterAll(async () => {
    await browser?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('renders every plot with visible content and no console errors', async () => {
    const { page, errors } = await open(path.join(dataLayout(dir).reports, candidate, 'report.html'));
    const figures = page.locator('figure');
    expect(await figures.count()).toBe(PLOT_ORDER.length);
    // One full-page screenshot, analysed per plot (the page is not scrolled, so boxes are page coordinates).
    const boxes: { x: number; y: number; width: number; height: number }[] = [];
    for (const [file] of PLOT_ORDER) {
      const box = await page.locator(`figure[data-file="${file}"] svg`).boundingBox();
      expect(box && box.width > 300 && box.height > 200).toBe(true);
      boxes.push(box!);
    }
    const shot = await analyseScreenshot(browser, await page.screenshot({ fullPage: true }), boxes, [
      PALETTE[0]!,
      PALETTE[1]!,
    ]);
    expect(shot.height).toBeGreaterThan(2000);
    PLOT_ORDER.forEach(([file], i) => {
      const px = shot.boxes[i]!;
      // A drawn plot has axes, labels and marks; an empty or broken SVG is (almost) all white.
      expect(px.ink).toBeGreaterThan(0.02);
      // Every plot but the confusion matrix draws the candidate in the first palette colour.
      if (file !== 'confusion.svg') expect(px.colours[PALETTE[0]!]).toBeGreaterThan(40);
    });
    // The second contender's curves (the champion) show up too.
    expect(PLOT_ORDER.reduce((s, _, i) => s + shot.boxes[i]!.colours[PALETTE[1]!]!, 0)).toBeGreaterThan(100);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows the candidate against the champion and both baselines, with intervals, and no raw rows', async () => {
    const html = fs.readFileSync(path.join(dataLayout(dir).reports, candidate, 'report.html'), 'utf8');
    const { page, errors } = await open(path.join(dataLayout(dir).reports, candidate, 'report.html'));
    const header = await page.locator('table[data-split="test"] thead th').allInnerTexts();
    expect(header.join(' ')).toMatch(/candidate/);
    expect(header.join(' ')).toContain(champion);
    expect(header.join(' ')).toMatch(/prior baseline/);
    expect(header.join(' ')).toMatch(/ratio_rule baseline/);
    expect(header.join(' ')).toMatch(/ratio_graded baseline/);
    const prAuc = await page
      .locator('table[data-split="holdout"] tbody tr', { hasText: 'PR-AUC' })
      .locator('td:not(:first-child) .ci')
      .allInnerTexts();
    expect(prAuc.length).toBe(6);
    for (const ci of prAuc) expect(ci).toMatch(/^\[\d\.\d{4}, \d\.\d{4}\]$/);
    const verdict = await page.locator('#verdict').innerText();
    expect(verdict).toMatch(/PROMOTE/);
    // The verdict names the strongest baseline with its customer-level delta; every split says how many customers it rests on.
    expect(await page.locator('#strongest-baseline').innerText()).toMatch(
      /Strongest baseline on pr_auc \(test\): ratio_(rule|graded) baseline .*customer-level bootstrap, 40 customers/,
    );
    expect(
      await page.locator('table[data-split="test"]').locator('xpath=preceding-sibling::h3[1]').innerText(),
    ).toMatch(/\d+ rows, \d+ positives .*, 40 customers \(\d+ with positives\)/);
    expect(await page.locator('table[data-table="per-customer-spread"] tbody tr').count()).toBe(6);
    expect(await page.locator('table[data-table="baselines"] tbody tr').count()).toBe(4);
    // Paired differences against the champion and every baseline; the much better candidate beats the prior on ROC-AUC.
    const competition = page.locator('table[data-table="competition"]');
    expect(await competition.locator('thead th').count()).toBe(6);
    expect(await competition.locator('tr', { hasText: 'ROC-AUC' }).locator('td.better').count()).toBeGreaterThanOrEqual(
      2,
    );
    expect(errors).toEqual([]);
    await page.close();
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
    expect(html).not.toContain('"txn_id"');
    expect(html).not.toMatch(/\bc\d+\b.*customer/);
  });

  it('index lists every version with aliases and links that open', async () => {
    const { page, errors } = await open(path.join(dataLayout(dir).reports, 'index.html'));
    expect(await page.locator('tbody tr').count()).toBe(6); // four baselines, two logistic versions
    const row = page.locator(`tr[data-version="${candidate}"]`);
    expect(await row.locator('.badge.champion').count()).toBe(1);
    expect(await page.locator(`tr[data-version="${champion}"] .badge.previous`).count()).toBe(1);
    await row.locator('a').click();
    await page.waitForLoadState('load');
    expect(await page.locator('h1').innerText()).toContain(candidate);
    expect(errors).toEqual([]);
    await page.close();
  });
});
