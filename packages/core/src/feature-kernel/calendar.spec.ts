import { brazilianHolidays, easterSunday, epochDay, isBrazilianHoliday, isoFromEpochDay } from './calendar';

describe('calendar', () => {
  it('round-trips ISO dates through epoch days and rejects impossible dates', () => {
    for (const d of ['1970-01-01', '2019-12-04', '2020-02-29', '2024-12-31'])
      expect(isoFromEpochDay(epochDay(d))).toBe(d);
    expect(epochDay('1970-01-02')).toBe(1);
    expect(() => epochDay('2019-02-29')).toThrow(/not an ISO calendar date/);
    expect(() => epochDay('4.12.2019')).toThrow(/not an ISO calendar date/);
  });

  it('computes Easter Sunday for known years', () => {
    // Published Easter dates.
    const known: Record<number, string> = {
      2000: '2000-04-23',
      2008: '2008-03-23',
      2019: '2019-04-21',
      2020: '2020-04-12',
      2024: '2024-03-31',
      2038: '2038-04-25',
    };
    for (const [year, date] of Object.entries(known)) expect(isoFromEpochDay(easterSunday(Number(year)))).toBe(date);
  });

  it('marks fixed and Easter-based Brazilian national holidays', () => {
    const holidays2019 = [
      '2019-01-01',
      '2019-03-04',
      '2019-03-05',
      '2019-04-19',
      '2019-04-21',
      '2019-05-01',
      '2019-06-20',
      '2019-09-07',
      '2019-10-12',
      '2019-11-02',
      '2019-11-15',
      '2019-12-25',
    ];
    expect([...brazilianHolidays(2019)].map(isoFromEpochDay).sort()).toEqual(holidays2019);
    expect(isBrazilianHoliday('2020-02-25')).toBe(true); // Carnival Tuesday 2020
    expect(isBrazilianHoliday('2020-04-10')).toBe(true); // Good Friday 2020
    expect(isBrazilianHoliday('2020-06-11')).toBe(true); // Corpus Christi 2020
    expect(isBrazilianHoliday('2019-12-04')).toBe(false);
    expect(isBrazilianHoliday('2019-11-20')).toBe(false); // Consciência Negra became national in 2024
    expect(isBrazilianHoliday('2024-11-20')).toBe(true);
  });
});
