import { barChart, lineChart } from './svg';
import { learningCurveModel } from './learning-curve';

/** Text contents of the SVG's <text> elements. */
const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);

describe('hand-drawn charts', () => {
  it('labels ticks with the decimals their step needs ("97.5", "200", "1,000"), never "97.500"', () => {
    const svg = lineChart({
      kind: 't',
      title: 't',
      xLabel: 'rows',
      yLabel: 'v',
      series: [
        {
          name: 'a',
          points: [
            { x: 0, y: 97.4 },
            { x: 1800, y: 97.6 },
          ],
        },
      ],
      yDomain: [97.4, 97.6],
    });
    const labels = texts(svg);
    expect(labels).toEqual(expect.arrayContaining(['97.5', '1,000']));
    expect(labels.filter((t) => /^-?[\d,]*\.\d*0$/.test(t))).toEqual([]);
  });

  it('keeps every legend name whole, on as many rows as the width needs', () => {
    const names = [
      '20261202T164734Z-3c5f2a (candidate)',
      '20261130T080000Z-aaaaaa (champion)',
      'prior baseline',
      'best_feature baseline',
      'prevalence',
    ];
    const series = names.map((name, i) => ({
      name,
      points: [
        { x: 0, y: i },
        { x: 1, y: i + 1 },
      ],
    }));
    const one = lineChart({ kind: 't', title: 't', xLabel: 'x', yLabel: 'y', series: series.slice(0, 1) });
    const all = lineChart({ kind: 't', title: 't', xLabel: 'x', yLabel: 'y', series });
    for (const name of names) expect(texts(all)).toContain(name);
    const height = (svg: string) => Number(/viewBox="0 0 \d+ (\d+)"/.exec(svg)![1]);
    expect(height(all)).toBeGreaterThan(height(one));
    // No legend label starts so far right that it would run past the chart's edge.
    const width = Number(/viewBox="0 0 (\d+)/.exec(all)![1]);
    for (const m of all.matchAll(/<text x="([\d.]+)" y="[\d.]+">([^<]*)<\/text>/g))
      expect(Number(m[1]) + m[2]!.length * 6.6).toBeLessThanOrEqual(width);
    const bars = barChart({
      kind: 'b',
      title: 'b',
      xLabel: 'x',
      yLabel: 'y',
      categories: ['a'],
      series: [{ name: names[0]!, values: [1] }],
      reference: { name: 'prevalence', value: 0.5 },
    });
    expect(texts(bars)).toEqual(expect.arrayContaining([names[0], 'prevalence']));
  });

  it('draws at the width of its container', () => {
    expect(lineChart({ kind: 't', title: 't', xLabel: 'x', yLabel: 'y', series: [] })).toContain('width="100%"');
  });

  it('titles the learning curve after the model it refits', () => {
    expect(learningCurveModel('logistic', false)).toBe('logistic regression, refitted');
    expect(learningCurveModel('mlp', false)).toBe('logistic stand-in for the mlp model');
    expect(learningCurveModel('mlp', true)).toBe('mlp refitted by train');
  });
});
