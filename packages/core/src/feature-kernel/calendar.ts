/**
 * Calendar helpers for the feature kernel. Dates are ISO `YYYY-MM-DD` strings everywhere in the
 * pipeline; internally they become whole "epoch days" (days since 1970-01-01, UTC) so that window
 * arithmetic is integer arithmetic and never depends on the machine's time zone.
 */

const MS_PER_DAY = 86_400_000;

/** `2019-12-04` → days since 1970-01-01 (UTC). Throws on anything that is not a real calendar date. */
export function epochDay(iso: string): number {
  const y = Number(iso.slice(0, 4));
  const m = Number(iso.slice(5, 7));
  const d = Number(iso.slice(8, 10));
  if (
    iso.length !== 10 ||
    !Number.isInteger(y) ||
    !Number.isInteger(m) ||
    !Number.isInteger(d) ||
    m < 1 ||
    m > 12 ||
    d < 1 ||
    d > daysInMonth(y, m)
  ) {
    throw new Error(`not an ISO calendar date: "${iso}"`);
  }
  return Date.UTC(y, m - 1, d) / MS_PER_DAY;
}

/** Days since 1970-01-01 → `YYYY-MM-DD`. */
export function isoFromEpochDay(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

/** Number of days in a month (`month` 1–12). */
export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Easter Sunday of a Gregorian year (anonymous Gregorian algorithm, "Meeus/Jones/Butcher"),
 * as epoch days.
 */
export function easterSunday(year: number): number {
  const a = year % 19;
  const b = Math.floor(year / 100);
  const c = year % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return Date.UTC(year, month - 1, day) / MS_PER_DAY;
}

/** Fixed-date national holidays as `MM-DD`, with the first year each one applies. */
const FIXED_HOLIDAYS: readonly (readonly [string, number])[] = [
  ['01-01', 0], // Confraternização Universal
  ['04-21', 0], // Tiradentes
  ['05-01', 0], // Dia do Trabalho
  ['09-07', 0], // Independência
  ['10-12', 0], // Nossa Senhora Aparecida
  ['11-02', 0], // Finados
  ['11-15', 0], // Proclamação da República
  ['11-20', 2024], // Consciência Negra: national holiday only since Lei 14.759/2023
  ['12-25', 0], // Natal
];

/**
 * Offsets from Easter Sunday of the movable dates: Carnival Monday and Tuesday (−48, −47),
 * Good Friday (−2) and Corpus Christi (+60). Carnival and Corpus Christi are officially "pontos
 * facultativos", but banks and most commerce close, which is what matters for spending.
 */
const EASTER_OFFSETS: readonly number[] = [-48, -47, -2, 60];

const holidayCache = new Map<number, ReadonlySet<number>>();

/** The national holidays of a year as a set of epoch days (computed, cached per year). */
export function brazilianHolidays(year: number): ReadonlySet<number> {
  let set = holidayCache.get(year);
  if (!set) {
    const days = new Set<number>();
    for (const [mmdd, since] of FIXED_HOLIDAYS)
      if (year >= since) days.add(epochDay(`${String(year).padStart(4, '0')}-${mmdd}`));
    const easter = easterSunday(year);
    for (const offset of EASTER_OFFSETS) days.add(easter + offset);
    set = days;
    holidayCache.set(year, set);
  }
  return set;
}

/**
 * True when an ISO date is a Brazilian national holiday (fixed dates plus the Easter-based
 * Carnival, Good Friday and Corpus Christi).
 *
 * @example isBrazilianHoliday('2019-03-05') // true: Carnival Tuesday
 */
export function isBrazilianHoliday(iso: string): boolean {
  return brazilianHolidays(Number(iso.slice(0, 4))).has(epochDay(iso));
}
