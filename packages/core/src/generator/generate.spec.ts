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
    expect(crypto.createHash('sha256').update(a).digest('hex')).toBe('f4195d453d00436dd34f882a8d7be64a5b4b03308efcbf299e943658030ffd7f');
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
    expect(rows.every((r) => r[9] === ' -   ' || /^(\d{1,3}(\.\d{3})+,\d{2}|\d{1,3}(,\d{1,2})?)$/.test(r[9]!))).toBe(true);
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
    const positives = rows.filter((r) => Number(r[7]) / Number(r[6]) < 0.2 && !ESSENTIAL.has(r[10]!)).length / rows.length;
    expect(positives).toBeGreaterThan(0.06);
    expect(positives).toBeLessThan(0.14);
    expect(rows.some((r) => Number(r[7]) > Number(r[6]))).toBe(true); // available above total, as in the real file
    // Behaviour, not noise: low available limit goes with more non-essential spending.
    const share = (sel: string[][]) => sel.filter((r) => !ESSENTIAL.has(r[10]!)).length / sel.length;
    const low = rows.filter((r) => Number(r[7]) / Number(r[6]) < 0.2);
    const high = rows.filter((r) => Number(r[7]) / Number(r[6]) >= 0.5);
    expect(share(low)).toBeGreaterThan(share(high) + 0.05);
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
    expect([3100, 15001, 5440, 178413, 140000, 1383516, 3].map(formatBrazilianAmount)).toEqual(['31', '150,01', '54,4', '1.784,13', '1.400,00', '13.835,16', '0,03']);
  });
});
