import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium } from 'playwright-core';
import { testServer } from './test-server.test-util';
import { browserPath, itBrowser } from '@bolsillo/testing';

describe('Swagger UI', () => {
  itBrowser('"Try it out" then "Execute" on POST /predict shows a prediction for the example', async () => {
    const s = await testServer();
    const server = await new Promise<http.Server>((resolve) => {
      const srv = s.app.listen(0, '127.0.0.1', () => resolve(srv));
    });
    const { port } = server.address() as AddressInfo;
    const browser = await chromium.launch({ executablePath: browserPath(), args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/docs/`);
      const op = page.locator('#operations-default-post_predict');
      await op.locator('.opblock-summary').click();
      await op.getByRole('button', { name: 'Try it out' }).click();
      await op.getByRole('button', { name: 'Execute' }).click();
      const body = op.locator('.live-responses-table .response-col_description pre').first();
      await body.waitFor();
      const text = await body.innerText();
      const answer = JSON.parse(text) as {
        probability: number;
        is_revenge_spending: boolean;
        alert: boolean;
        model_version: string;
      };
      expect(answer.model_version).toBe(s.champion);
      expect(answer.probability).toBeGreaterThanOrEqual(0);
      expect(answer.is_revenge_spending).toBe(true);
      expect(typeof answer.alert).toBe('boolean');
      await expect(
        op.locator('.live-responses-table .response .response-col_status').first().innerText(),
      ).resolves.toBe('200');
    } finally {
      await browser.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await s.close();
    }
  });
});
