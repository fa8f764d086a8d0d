import { RAW_COLUMNS } from '@bolsillo/schema';
import {
  checkHeader,
  decodeBlock,
  IngestError,
  maskRawLine,
  parseBrazilianAmount,
  parseLine,
  parseSourceDate,
} from './dialect';

const RULES = { minAge: 16, maxAge: 110 };
const GOOD = '4,53E+11;201405;CAMPO LIMPO PAULISTA  ;SP ;37;F;4700;5605;4.12.2019;1.784,13;SERVIÇO;SAO PAULO;BR';
const withField = (i: number, v: string) =>
  GOOD.split(';')
    .map((f, k) => (k === i ? v : f))
    .join(';');

describe('dialect', () => {
  it('parses Brazilian amounts and the missing marker', () => {
    expect(parseBrazilianAmount('1.784,13')).toBe(1784.13);
    expect(parseBrazilianAmount('150,01')).toBe(150.01);
    expect(parseBrazilianAmount('31')).toBe(31);
    expect(parseBrazilianAmount(' -   ')).toBeNull();
    expect(parseBrazilianAmount('12,3,4')).toBeNaN();
    expect(parseBrazilianAmount('1.78,13')).toBeNaN();
  });

  it('parses d.mm.yyyy dates and rejects impossible ones', () => {
    expect(parseSourceDate('4.12.2019')).toBe('2019-12-04');
    expect(parseSourceDate('29.02.2020')).toBe('2020-02-29');
    expect(parseSourceDate('29.02.2019')).toBeNull();
    expect(parseSourceDate('31.04.2019')).toBeNull();
    expect(parseSourceDate('2019-12-04')).toBeNull();
  });

  it('maps a raw row to canonical fields: trimmed, normalised, nullable merchant place', () => {
    const parsed = parseLine(GOOD.replace('SAO PAULO;BR', ';'), 'a.csv', 2, RULES);
    expect('reason' in parsed).toBe(false);
    if ('reason' in parsed) return;
    expect(parsed.rawId).toBe('4,53E+11');
    expect(parsed.txn).toMatchObject({
      txn_id: 'a.csv#2',
      city: 'CAMPO LIMPO PAULISTA',
      state: 'SP',
      age: 37,
      credit_limit: 4700,
      available_limit: 5605,
      date: '2019-12-04',
      amount: 1784.13,
      merchant_group: 'SERVIÇO',
      merchant_city: null,
      merchant_country: null,
    });
  });

  it.each([
    ['field_count', GOOD.split(';').slice(0, 10).join(';')],
    ['missing_id', withField(0, ' ')],
    ['bad_cohort', withField(1, '201413')],
    ['unknown_state', withField(3, 'XX ')],
    ['implausible_age', withField(4, '7')],
    ['implausible_age', withField(4, '3x')],
    ['bad_sex', withField(5, 'Q')],
    ['bad_limit', withField(7, '-5')],
    ['bad_date', withField(8, '31.02.2020')],
    ['bad_amount', withField(9, 'abc')],
    ['negative_amount', withField(9, '-3,50')],
    ['missing_merchant_group', withField(10, '')],
  ])('rejects with reason %s', (reason, line) => {
    const parsed = parseLine(line, 'a.csv', 3, RULES);
    expect('reason' in parsed && parsed.reason).toBe(reason);
  });

  it('names the file and the missing and unexpected columns of a wrong header', () => {
    expect(() => checkHeader(RAW_COLUMNS.join(';'), 'ok.csv')).not.toThrow();
    const bad = RAW_COLUMNS.map((c) => (c === ' valor ' ? 'valor' : c)).join(';');
    expect(() => checkHeader(bad, 'drop.csv')).toThrow(
      /drop\.csv: wrong header: missing columns " valor "; unexpected columns "valor"/,
    );
  });

  it('decodes the 0x82 single-byte page and UTF-8 to the same text, and refuses garbage', () => {
    const single = Buffer.from('a;SERVI\x82O\n', 'latin1');
    const utf8 = Buffer.from('a;SERVIÇO\n', 'utf8');
    const where = { file: 'x.csv', firstLine: 1 };
    expect(decodeBlock(single, 'ascii', where)).toEqual({ text: 'a;SERVIÇO\n', mode: 'mibolsillo-single-byte' });
    expect(decodeBlock(utf8, 'ascii', where)).toEqual({ text: 'a;SERVIÇO\n', mode: 'utf-8' });
    expect(() => decodeBlock(Buffer.from([0x61, 0x0a, 0x00, 0xff, 0x0a]), 'ascii', where)).toThrow(IngestError);
    expect(() => decodeBlock(Buffer.from([0x61, 0x0a, 0x00, 0xff, 0x0a]), 'ascii', where)).toThrow(
      /x\.csv: undecodable bytes at line 2/,
    );
    expect(() => decodeBlock(single, 'utf-8', where)).toThrow(/x\.csv/);
  });

  it('masks the id of a quarantined line', () => {
    expect(maskRawLine(GOOD)).toBe(`***${GOOD.slice(GOOD.indexOf(';'))}`);
    expect(maskRawLine(GOOD)).not.toContain('4,53E+11');
  });
});
