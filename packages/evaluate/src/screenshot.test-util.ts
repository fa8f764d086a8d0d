/**
 * Look at a screenshot's pixels inside Chromium itself (canvas getImageData): decoding a large PNG
 * in plain JS inside Jest's vm context is slow, the browser does it natively.
 */
import type { Browser } from 'playwright-core';

/** Per box: share of non-white pixels and how many pixels are close to each requested colour. */
export interface BoxPixels {
  readonly ink: number;
  readonly colours: Record<string, number>;
}

export async function analyseScreenshot(
  browser: Browser,
  png: Buffer,
  boxes: readonly { x: number; y: number; width: number; height: number }[],
  colours: readonly string[],
  tolerance = 30,
): Promise<{ width: number; height: number; boxes: BoxPixels[] }> {
  const page = await browser.newPage();
  try {
    return await page.evaluate(
      async ({ b64, boxes, colours, tolerance }) => {
        // Browser globals, typed here because the workspace compiles without the DOM lib.
        const g = globalThis as unknown as {
          createImageBitmap(b: Blob): Promise<{ width: number; height: number }>;
          OffscreenCanvas: new (
            w: number,
            h: number,
          ) => {
            getContext(kind: '2d'): {
              drawImage(img: unknown, x: number, y: number): void;
              getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
            } | null;
          };
        };
        const blob = await (await fetch(`data:image/png;base64,${b64}`)).blob();
        const bmp = await g.createImageBitmap(blob);
        const canvas = new g.OffscreenCanvas(bmp.width, bmp.height);
        const ctx = canvas.getContext('2d')!;
        ctx.drawImage(bmp, 0, 0);
        const rgb = colours.map((h) => [1, 3, 5].map((i) => parseInt(h.slice(i, i + 2), 16)));
        const out = boxes.map((box) => {
          const w = Math.max(1, Math.round(box.width));
          const h = Math.max(1, Math.round(box.height));
          const d = ctx.getImageData(Math.round(box.x), Math.round(box.y), w, h).data;
          let ink = 0;
          const counts = colours.map(() => 0);
          for (let i = 0; i < d.length; i += 4) {
            if (d[i]! < 230 || d[i + 1]! < 230 || d[i + 2]! < 230) ink++;
            rgb.forEach((c, k) => {
              if (
                Math.abs(d[i]! - c[0]!) <= tolerance &&
                Math.abs(d[i + 1]! - c[1]!) <= tolerance &&
                Math.abs(d[i + 2]! - c[2]!) <= tolerance
              )
                counts[k]!++;
            });
          }
          return { ink: ink / (w * h), colours: Object.fromEntries(colours.map((c, k) => [c, counts[k]!])) };
        });
        return { width: bmp.width, height: bmp.height, boxes: out };
      },
      { b64: png.toString('base64'), boxes: [...boxes], colours: [...colours], tolerance },
    );
  } finally {
    await page.close();
  }
}
