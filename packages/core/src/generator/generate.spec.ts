import crypto from 'node:crypto';
import { formatBrazilianAmount, generate, generateChunks, MIBOLSILLO_HEADER } from './generate';

const ESSENTIAL = new Set(['SERVI\x82O', 'SUPERMERCADOS', 'FARMACIAS', 'HOSP E CLINICA', 'TRANS FINANC']);

function rowsOf(buf: Buffer): string[][] {
  return buf
    .toString('latin1')
    .split('\r\n')
    .slice(1)
    .filter((l) => l.length > 0)
    .map((l) => l.split(';'));
}

const amount = (s: string) => Number(s.replace(/\./g, '').replace(',', '.'));

describe('generate (synthetic MiBolsillo CSV)', () => {
  it('is deterministic for a seed: the bytes of a small output are pinned', () => {
    const a = generate({ rows: 500, seed: 1 });
    expect(crypto.createHash('sha256').update(a).digest('hex')).toBe(
      '53b9d862923b57b6b6322e50d50eeb3b31bfd8d8675c0eb44edd0a1324e68fcf',
    );
    expect(generate({ rows: 500, seed: 2 }).equals(a)).toBe(false);
  });

  it('streams the same bytes in chunks as in one buffer, with exactly the requested rows', () => {
    const chunks = [...generateChunks({ rows: 1234, seed: 3, chunkRows: 100 })];
    expect(chunks.length).toBeGreaterThan(10);
    const whole = generate({ rows: 1234, seed: 3 });
    expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    expect(rowsOf(whole)).toHaveLength(1234);
  });

  it('writes the exact dialect: header, ";", CRLF, 0x82 for Ç, d.mm.yyyy, Brazilian amounts, missing marker, padding', () => {
    const buf = generate({ rows: 8_000, seed: 7 });
    const text = buf.toString('latin1');
    expect(text.startsWith(`${MIBOLSILLO_HEADER}\r\n`)).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(buf.includes(Buffer.from('SERVI\x82O', 'latin1'))).toBe(true);
    expect(buf.includes(Buffer.from('AUTO PE\x82AS', 'latin1'))).toBe(true);
    expect(buf.every((b) => b < 0x80 || b === 0x82)).toBe(true);
    const rows = rowsOf(buf);
    expect(rows.every((r) => r.length === 13)).toBe(true);
    expect(rows.every((r) => /^[1-9]\d?\.\d{2}\.20\d{2}$/.test(r[8]!))).toBe(true);
    expect(rows.some((r) => /^[1-9]\./.test(r[8]!))).toBe(true); // unpadded day
    expect(rows.every((r) => r[9] === ' -   ' || /^(\d{1,3}(\.\d{3})+,\d{2}|\d{1,3}(,\d{1,2})?)$/.test(r[9]!))).toBe(
      true,
    );
    expect(rows.some((r) => /^\d{1,3}\.\d{3},\d{2}$/.test(r[9]!))).toBe(true);
    expect(rows.some((r) => r[9] === ' -   ')).toBe(true);
    expect(rows.every((r) => r[2]!.length === 22 && r[3]!.endsWith(' '))).toBe(true);
    expect(rows.some((r) => r[11] === '' && r[12] === '')).toBe(true);
    expect(rows.some((r) => /^\d,\d{2}E\+1[12]$/.test(r[0]!))).toBe(true);
    const lines = text.split('\r\n').slice(1, -1);
    expect(new Set(lines).size).toBeLessThan(lines.length); // a few exact duplicates
    expect(lines.length - new Set(lines).size).toBeLessThan(lines.length * 0.01);
  });

  it('has realistic structure: stable customer profiles, shared mangled ids, real category mix, prevalence near 9.7%', () => {
    const rows = rowsOf(generate({ rows: 40_000, seed: 11 }));
    const customers = new Set(rows.map((r) => r.slice(0, 6).join(';')));
    const ids = new Set(rows.map((r) => r[0]));
    expect(ids.size).toBeLessThan(customers.size); // one raw id, several customers
    const servico = rows.filter((r) => r[10] === 'SERVI\x82O').length / rows.length;
    expect(servico).toBeGreaterThan(0.3); // real: 1,782 / 4,955 = 0.36
    expect(servico).toBeLessThan(0.42);
    const positives =
      rows.filter((r) => Number(r[7]) / Number(r[6]) < 0.2 && !ESSENTIAL.has(r[10]!)).length / rows.length;
    expect(positives).toBeGreaterThan(0.06);
    expect(positives).toBeLessThan(0.14);
    expect(rows.some((r) => Number(r[7]) > Number(r[6]))).toBe(true); // available above total, as in the real file
    // Behaviour, not noise: low available limit goes with more non-essential spending.
    const share = (sel: string[][]) => sel.filter((r) => !ESSENTIAL.has(r[10]!)).length / sel.length;
    const low = rows.filter((r) => Number(r[7]) / Number(r[6]) < 0.2);
    const high = rows.filter((r) => Number(r[7]) / Number(r[6]) >= 0.5);
    expect(share(low)).toBeGreaterThan(share(high) + 0.05);
  });

  it("keeps each customer's balance consistent: spending lowers the available limit, only payday repayments raise it", () => {
    const rows = rowsOf(generate({ rows: 30_000, seed: 13, shift: { missingAmountRate: 0 } }));
    const byCustomerDay = new Map<string, string[][]>();
    for (const r of rows) {
      const key = `${r.slice(0, 6).join(';')}|${r[8]}`;
      const list = byCustomerDay.get(key) ?? [];
      list.push(r);
      byCustomerDay.set(key, list);
    }
    let steps = 0;
    let consistent = 0;
    for (const day of byCustomerDay.values()) {
      // Within a day the order is unknown (rows are shuffled): the highest available limit came first.
      const sorted = [...new Map(day.map((r) => [r.join(';'), r])).values()].sort(
        (a, b) => Number(b[7]) - Number(a[7]),
      );
      for (let i = 1; i < sorted.length; i++) {
        const prev = Number(sorted[i - 1]![7]);
        const cur = Number(sorted[i]![7]);
        if (prev === 0 || Number(sorted[i]![6]) !== Number(sorted[i - 1]![6])) continue; // maxed out, or the limit changed
        steps += 1;
        if (Math.abs(prev - cur - amount(sorted[i]![9]!)) <= 1) consistent += 1;
      }
    }
    expect(steps).toBeGreaterThan(1000);
    expect(consistent / steps).toBeGreaterThan(0.97); // the rest: two same-day rows within a cent of each other's order
    // Across days the available limit rises about once a month (the payday repayment), not at random.
    const customers = new Map<string, { day: string; min: number; max: number }[]>();
    for (const [key, day] of byCustomerDay) {
      const [customer, date] = key.split('|');
      const [d, m, y] = date!.split('.');
      const list = customers.get(customer!) ?? [];
      list.push({
        day: `${y}-${m}-${d!.padStart(2, '0')}`,
        min: Math.min(...day.map((r) => Number(r[7]))),
        max: Math.max(...day.map((r) => Number(r[7]))),
      });
      customers.set(customer!, list);
    }
    let rises = 0;
    let months = 0;
    for (const days of customers.values()) {
      days.sort((a, b) => a.day.localeCompare(b.day));
      for (let i = 1; i < days.length; i++) if (days[i]!.max > days[i - 1]!.min + 1) rises += 1;
      months += (Date.parse(days[days.length - 1]!.day) - Date.parse(days[0]!.day)) / (30 * 86_400_000) + 1;
    }
    expect(rises).toBeGreaterThan(0.5 * months);
    expect(rises).toBeLessThan(1.3 * months);
  });

  it('tells a learnable story: a low ratio, a low month behind it and the payday week all raise revenge spending soon after', () => {
    const rows = rowsOf(generate({ rows: 120_000, seed: 21 }));
    const dayOf = (s: string) => {
      const [d, m, y] = s.split('.');
      return Math.round(Date.UTC(Number(y), Number(m) - 1, Number(d)) / 86_400_000);
    };
    // End-of-day snapshots: per customer and day, the lowest ratio and whether a flagged row happened.
    const customers = new Map<string, Map<number, { min: number; flagged: boolean }>>();
    for (const r of rows) {
      const c = r.slice(0, 6).join(';');
      const days = customers.get(c) ?? new Map<number, { min: number; flagged: boolean }>();
      const d = dayOf(r[8]!);
      const ratio = Number(r[7]) / Number(r[6]);
      const s = days.get(d) ?? { min: Infinity, flagged: false };
      s.min = Math.min(s.min, ratio);
      s.flagged ||= ratio < 0.2 && !ESSENTIAL.has(r[10]!);
      days.set(d, s);
      customers.set(c, days);
    }
    const end = Math.max(...rows.map((r) => dayOf(r[8]!)));
    const rate = (pred: (min: number, trend: number) => boolean) => {
      let n = 0;
      let pos = 0;
      for (const days of customers.values()) {
        const list = [...days.entries()].sort((a, b) => a[0] - b[0]);
        for (let i = 0; i < list.length; i++) {
          const [d, s] = list[i]!;
          if (d + 7 > end) continue;
          const past = list.filter(([e]) => e > d - 30 && e <= d);
          const trend = s.min - past.reduce((t, [, p]) => t + p.min, 0) / past.length;
          if (!pred(s.min, trend)) continue;
          n += 1;
          if (list.some(([e, p]) => e > d && e <= d + 7 && p.flagged)) pos += 1;
        }
      }
      return pos / n;
    };
    const prior = rate(() => true);
    expect(prior).toBeGreaterThan(0.08);
    expect(prior).toBeLessThan(0.3);
    expect(rate((m) => m < 0.2)).toBeGreaterThan(2.5 * prior); // the ratio rule is informative
    expect(rate((m) => m < 0.2)).toBeLessThan(0.9); // but not deterministic
    // Same current headroom, different month behind it: the 30-day history carries signal the current ratio does not.
    expect(rate((m, t) => m >= 0.2 && m < 0.4 && m - t < 0.25)).toBeGreaterThan(
      1.5 * rate((m, t) => m >= 0.2 && m < 0.4 && m - t > 0.45),
    );
    // Payday bursts: non-essential spending is more frequent in the week after the 5th than in the week before it.
    const share = (days: number[]) => {
      const sel = rows.filter((r) => days.includes(Number(r[8]!.split('.')[0])));
      return sel.filter((r) => !ESSENTIAL.has(r[10]!)).length / sel.length;
    };
    expect(share([5, 6, 7, 8, 9, 10, 11])).toBeGreaterThan(share([27, 28, 29, 30, 1, 2, 3]) + 0.02);
  });

  it('a shift changes amounts or ages, not who transacts when', () => {
    const base = rowsOf(generate({ rows: 5_000, seed: 5 }));
    const shifted = rowsOf(generate({ rows: 5_000, seed: 5, shift: { amountScale: 3, ageOffset: 10 } }));
    expect(shifted.map((r) => [r[0], r[1], r[2], r[3], r[5], r[8]].join(';'))).toEqual(
      base.map((r) => [r[0], r[1], r[2], r[3], r[5], r[8]].join(';')),
    );
  });

  it('shifts named distributions: amountScale multiplies amounts, ageOffset adds years', () => {
    const base = rowsOf(generate({ rows: 20_000, seed: 5 }));
    const shifted = rowsOf(generate({ rows: 20_000, seed: 5, shift: { amountScale: 2, ageOffset: 15 } }));
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const amounts = (rows: string[][]) => rows.filter((r) => r[9] !== ' -   ').map((r) => amount(r[9]!));
    const ratio = median(amounts(shifted)) / median(amounts(base));
    expect(ratio).toBeGreaterThan(1.8);
    expect(ratio).toBeLessThan(2.2);
    const meanAge = (rows: string[][]) => rows.reduce((s, r) => s + Number(r[4]), 0) / rows.length;
    expect(meanAge(shifted) - meanAge(base)).toBeGreaterThan(12);
  });

  it('generates a date window (the next day drop)', () => {
    const rows = rowsOf(generate({ rows: 300, seed: 9, start: '2020-05-08', end: '2020-05-08' }));
    expect(new Set(rows.map((r) => r[8]))).toEqual(new Set(['8.05.2020']));
  });

  it('formats Brazilian amounts like the source', () => {
    expect([3100, 15001, 5440, 178413, 140000, 1383516, 3].map(formatBrazilianAmount)).toEqual([
      '31',
      '150,01',
      '54,4',
      '1.784,13',
      '1.400,00',
      '13.835,16',
      '0,03',
    ]);
  });
});
