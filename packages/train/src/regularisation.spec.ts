import { seededRandom } from '@bolsillo/core';
import { loadTf } from '@bolsillo/model';
import { resolveParams, trainNetwork } from './models';

describe('L1 (lasso) penalty', () => {
  it('shrinks the weights of pure-noise inputs while keeping the informative one', async () => {
    const { tf } = await loadTf();
    // Column 0 decides the label; columns 1..8 are noise the model can only overfit.
    const n = 400;
    const width = 9;
    const rand = seededRandom(3);
    const x = new Float32Array(n * width);
    const y = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < width; j++) x[i * width + j] = rand() * 2 - 1;
      y[i] = x[i * width]! + 0.3 * (rand() - 0.5) > 0.4 ? 1 : 0;
    }
    const kernel = (l1: number) => {
      const net = trainNetwork(
        tf,
        'logistic',
        resolveParams('logistic', { learning_rate: 0.05, epochs: 150, l1 }),
        x,
        y,
        width,
        5,
      );
      const k = Array.from(net.model.getWeights()[0]!.dataSync());
      net.model.dispose();
      return { signal: Math.abs(k[0]!), noise: k.slice(1).reduce((a, b) => a + Math.abs(b), 0) };
    };
    const plain = kernel(0);
    const lasso = kernel(0.02);
    expect(resolveParams('logistic', {}).l1).toBe(0);
    expect(lasso.noise).toBeLessThan(plain.noise / 3);
    expect(lasso.signal).toBeGreaterThan(1);
    expect(lasso.signal).toBeGreaterThan(lasso.noise * 5);
  });
});
