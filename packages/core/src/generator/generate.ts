import { seededRandom } from '../metrics';

/**
 * Distribution shifts for monitoring scenarios. Every field is optional; the default is no shift.
 * What each one changes, exactly:
 * - `amountScale`: every transaction amount is multiplied by it (before rounding to cents). Because
 *   the available limit falls by the amounts spent, larger amounts also lower `limite_disp`.
 * - `ageOffset`: added to every customer's age (years; the result is clamped to 18..99).
 * - `limitScale`: every customer's total credit limit (and so the available-limit path) is multiplied by it.
 * - `nonEssentialShare`: base probability that a transaction's merchant group is drawn from the
 *   non-essential groups (the real file: about 0.50; stress, the payday week and low headroom raise it for a
 *   while, calm days lower it a little); essential groups then take the rest in their real proportions.
 * - `missingAmountRate`: share of rows whose amount is the missing marker `" -   "` (real: 0.0026).
 */
export interface GeneratorShift {
  readonly amountScale?: number;
  readonly ageOffset?: number;
  readonly limitScale?: number;
  readonly nonEssentialShare?: number;
  readonly missingAmountRate?: number;
}

/** Options of {@link generate}. */
export interface GenerateOptions {
  /** Number of data rows (header excluded), duplicates included. */
  readonly rows: number;
  /** Seed: the same options give the same bytes. */
  readonly seed: number;
  /** First transaction date, ISO (default `2019-04-01`, as the real file). */
  readonly start?: string;
  /** Last transaction date, ISO, inclusive (default `2020-05-07`). */
  readonly end?: string;
  readonly shift?: GeneratorShift;
  /** Rows per emitted chunk in {@link generateChunks} (default 20,000). */
  readonly chunkRows?: number;
}

/** The MiBolsillo header line, byte for byte (note the spaces around " valor "). */
export const MIBOLSILLO_HEADER =
  'id;safra_abertura;cidade;estado;idade;sexo;limite_total;limite_disp;data; valor ;grupo_estabelecimento;cidade_estabelecimento;pais_estabelecimento';

/** Merchant groups the revenge-spending target treats as essential (vital), normalised spelling. */
export const MIBOLSILLO_ESSENTIAL_GROUPS = [
  'SERVIÇO',
  'SUPERMERCADOS',
  'FARMACIAS',
  'HOSP E CLINICA',
  'TRANS FINANC',
] as const;

// Counts measured on the real file (4,955 rows). Written with the 0x82 byte for Ç, as in the source.
const GROUP_COUNTS: readonly (readonly [string, number, boolean])[] = [
  ['SERVI\x82O', 1782, true],
  ['RESTAURANTE', 872, false],
  ['VAREJO', 599, false],
  ['SUPERMERCADOS', 468, true],
  ['VESTUARIO', 236, false],
  ['FARMACIAS', 222, true],
  ['POSTO DE GAS', 199, false],
  ['M.O.T.O.', 191, false],
  ['ARTIGOS ELETRO', 129, false],
  ['LOJA DE DEPART', 80, false],
  ['CIA AEREAS', 38, false],
  ['HOTEIS', 24, false],
  ['SEM RAMO', 20, false],
  ['HOSP E CLINICA', 18, true],
  ['MOVEIS E DECOR', 15, false],
  ['MAT CONSTRUCAO', 15, false],
  ['AUTO PE\x82AS', 14, false],
  ['AGENCIA DE TUR', 12, false],
  ['TRANS FINANC', 10, true],
  ['JOALHERIA', 6, false],
  ['INEXISTENTE', 4, false],
  ['ALUG DE CARROS', 1, false],
];

const HOME_CITIES: readonly (readonly [string, string, number])[] = [
  ['SAO PAULO', 'SP', 60],
  ['RIO DE JANEIRO', 'RJ', 6],
  ['SANTO ANDRE', 'SP', 5],
  ['OSASCO', 'SP', 5],
  ['GUARULHOS', 'SP', 4],
  ['CAMPO LIMPO PAULISTA', 'SP', 3],
  ['LOUVEIRA', 'SP', 3],
  ['ITAQUAQUECETUBA', 'SP', 3],
  ['EMBU DAS ARTES', 'SP', 3],
  ['S BERNARDO CAMPO', 'SP', 3],
  ['CAMPINAS', 'SP', 3],
  ['BELO HORIZONTE', 'MG', 2],
];

// Merchant city (truncated to 13 characters by the source system, inconsistent spellings kept).
const MERCHANT_CITIES: readonly (readonly [string, number])[] = [
  ['SAO PAULO', 3151],
  ['RIO DE JANEIR', 287],
  ['OSASCO', 278],
  ['SAOPAULO', 80],
  ['SAO JOSE DO R', 79],
  ['BAURU', 77],
  ['CURITIBA', 76],
  ['BARUERI', 69],
  ['SANTO ANDRE', 68],
  ['Sao Paulo', 60],
  ['PRAIA GRANDE', 52],
  ['JUNDIAI', 48],
  ['LOUVEIRA', 39],
  ['GUARULHOS', 34],
  ['SAO BERNARDO', 33],
];
const FOREIGN: readonly (readonly [string, string])[] = [
  ['415-503-9235', 'US'],
  ['SANTIAGO', 'CL'],
  ['614-285-3455', 'OH'],
  ['help.uber.com', 'US'],
  ['LIMA', 'PE'],
  ['11001BOGOTA', 'CO'],
  ['LNKD.IN/BILL', 'IE'],
  ['CULVER CITY', 'US'],
];

type Rng = () => number;

function cumulative<T>(items: readonly T[], weight: (t: T) => number): Float64Array {
  const c = new Float64Array(items.length);
  let s = 0;
  items.forEach((t, i) => {
    s += weight(t);
    c[i] = s;
  });
  for (let i = 0; i < c.length; i++) c[i]! /= s;
  return c;
}

function pick(cum: Float64Array, u: number): number {
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid]! < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function normal(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

const DAY_MS = 86_400_000;
function dayNumber(iso: string): number {
  const t = Date.parse(`${iso}T00:00:00Z`);
  if (!Number.isFinite(t)) throw new Error(`generate: invalid date "${iso}"`);
  return Math.round(t / DAY_MS);
}

/** `d.mm.yyyy` with an unpadded day, as the source system writes it. */
function sourceDate(day: number): string {
  const d = new Date(day * DAY_MS);
  const m = d.getUTCMonth() + 1;
  return `${d.getUTCDate()}.${m < 10 ? '0' : ''}${m}.${d.getUTCFullYear()}`;
}

/** Brazilian amount text: "31", "54,4", "150,01", and with thousands dots and two decimals from 1,000 ("1.784,13"). */
export function formatBrazilianAmount(cents: number): string {
  const whole = Math.floor(cents / 100);
  const frac = cents % 100;
  if (whole >= 1000) {
    const groups: string[] = [];
    let w = whole;
    while (w >= 1000) {
      groups.unshift(String(w % 1000).padStart(3, '0'));
      w = Math.floor(w / 1000);
    }
    groups.unshift(String(w));
    return `${groups.join('.')},${String(frac).padStart(2, '0')}`;
  }
  if (frac === 0) return String(whole);
  if (frac % 10 === 0) return `${whole},${frac / 10}`;
  return `${whole},${String(frac).padStart(2, '0')}`;
}

/** The id as a spreadsheet shows a long number: "4,53E+11"; short ids stay digits. */
function mangledId(rng: Rng): string {
  const u = rng();
  if (u < 0.12) return String(1_000_000_000 + Math.floor(rng() * 98_999_999_999)); // 10-11 digits, kept as is
  const exp = u < 0.16 ? 12 : 11;
  const mantissa = 100 + Math.floor(rng() * 900); // three significant digits survive
  return `${Math.floor(mantissa / 100)},${String(mantissa % 100).padStart(2, '0')}E+${exp}`;
}

/** Salary day of month (capped at the month's last day) and its share of customers: the 5th (Brazil's 5th working day, roughly), the 20th (a mid-month advance), the month's end. */
const PAYDAYS: readonly (readonly [number, number])[] = [
  [5, 0.6],
  [20, 0.25],
  [31, 0.15],
];
const PAYDAY_CUM = cumulative(PAYDAYS, (p) => p[1]);

// The hidden process (docs/generator.md tells the story and what each feature can see of it).
/** Daily probability that a stress spell ends (mean spell: 3 weeks). */
const STRESS_EXIT = 1 / 21;
/** Days after payday with a spending burst (payday included). */
const BURST_DAYS = 7;
/** Persistence of the log spending level from one day to the next (AR(1); about a month's memory). */
const LEVEL_KEEP = 0.97;
/** Daily innovation of the log spending level: stationary sd 0.075 / sqrt(1 - 0.97²) = 0.31. */
const LEVEL_STEP = 0.075;
/** Mean extra transactions on an active day at base intensity (real: 1.74 rows per active customer-day). */
const EXTRA_TXNS = 0.7;

interface Customer {
  readonly prefix: string; // id;safra;cidade;estado;idade;sexo;
  readonly limit: number;
  readonly limitChangeDay: number;
  readonly limitAfter: number;
  /** Daily intensity of being active (before the state's and calendar's multipliers). */
  readonly rate: number;
  readonly spendScale: number;
  /** Share of the balance paid on payday when calm (transactors near 1, revolvers well below). */
  readonly payFraction: number;
  /** Credit built by overpaying, as a share of the limit (0 for most): the available limit can exceed the total. */
  readonly credit: number;
  readonly firstDay: number;
  readonly payday: number;
  /** Daily probability of entering a stress spell (0: never stressed). */
  readonly stressIn: number;
  /** Initial spending-level deviation and stress state (drawn with the profile, so the day loop starts in steady state). */
  readonly level0: number;
  readonly stressed0: boolean;
  readonly balance0: number;
}

const ESSENTIAL_IDX = GROUP_COUNTS.map((g, i) => (g[2] ? i : -1)).filter((i) => i >= 0);
const OTHER_IDX = GROUP_COUNTS.map((g, i) => (g[2] ? -1 : i)).filter((i) => i >= 0);
const ESSENTIAL_CUM = cumulative(ESSENTIAL_IDX, (i) => GROUP_COUNTS[i]![1]);
const OTHER_CUM = cumulative(OTHER_IDX, (i) => GROUP_COUNTS[i]![1]);
const REAL_NON_ESSENTIAL = OTHER_IDX.reduce((s, i) => s + GROUP_COUNTS[i]![1], 0) / 4955;
const HOME_CUM = cumulative(HOME_CITIES, (c) => c[2]);
const MCITY_CUM = cumulative(MERCHANT_CITIES, (c) => c[1]);
/** Mean of exp(3.49 + 1.42 z): the mean amount of the real file's amount distribution (about 90). */
const MEAN_AMOUNT = Math.exp(3.49 + (1.42 * 1.42) / 2);

/** Poisson draw (Knuth): its number of uniforms depends only on the count, never on the balance. */
function poisson(rng: Rng, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng();
  while (p > l) {
    k += 1;
    p *= rng();
  }
  return k;
}

/**
 * Synthetic MiBolsillo CSV bytes, chunk by chunk (header first). Deterministic for the options.
 *
 * A story, not noise (docs/generator.md): customers (about 170 rows each, as in the real file) have stable
 * profiles (mangled id, cohort, padded home city, state, age, sex), a credit limit that sometimes changes
 * once, a salary day and a repayment habit. Each customer is simulated day by day: a hidden stress state
 * (spells of about three weeks) raises activity, amounts and the non-essential share and cuts the payday
 * repayment; a slowly drifting spending level moves utilisation over weeks; the week after payday has a
 * burst of (mostly non-essential) spending. The available limit falls by every amount and rises with the
 * payday repayment (some customers overpay, so it can exceed the total, as in 19% of the real rows); a
 * customer with little headroom shifts toward non-essential groups. So whether a customer makes a
 * revenge-spending transaction (available/total < 0.20, non-essential group; about 10% of rows) in the
 * next days is predictable from the current ratio, its trend, recent activity and the calendar, but not
 * determined. Rows of a customer are written in shuffled date order, as in the source. A few rows are
 * exact duplicates; ids collide across distinct customers (three significant digits survive the spreadsheet).
 * The number of random draws never depends on the balance, so the shifts change amounts and limits
 * without reshuffling who transacts when.
 */
export function* generateChunks(options: GenerateOptions): Generator<Buffer> {
  const rows = Math.max(0, Math.floor(options.rows));
  const rng = seededRandom(options.seed);
  const shift = options.shift ?? {};
  const amountScale = shift.amountScale ?? 1;
  const ageOffset = shift.ageOffset ?? 0;
  const limitScale = shift.limitScale ?? 1;
  const nonEssential = shift.nonEssentialShare ?? REAL_NON_ESSENTIAL;
  const missingRate = shift.missingAmountRate ?? 13 / 4955;
  const first = dayNumber(options.start ?? '2019-04-01');
  const last = dayNumber(options.end ?? '2020-05-07');
  if (last < first) throw new Error('generate: end is before start');
  const chunkRows = options.chunkRows ?? 20_000;

  // The calendar of the window, computed once: source date text, day of month, payday lookup, weekend.
  const nDays = last - first + 1;
  const dateText: string[] = new Array(nDays);
  const dom = new Uint8Array(nDays);
  const monthEnd = new Uint8Array(nDays);
  const weekend = new Uint8Array(nDays);
  for (let i = 0; i < nDays; i++) {
    const d = new Date((first + i) * DAY_MS);
    dateText[i] = sourceDate(first + i);
    dom[i] = d.getUTCDate();
    monthEnd[i] = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
    weekend[i] = d.getUTCDay() === 0 || d.getUTCDay() === 6 ? 1 : 0;
  }

  yield Buffer.from(`${MIBOLSILLO_HEADER}\r\n`, 'latin1');

  const ids: string[] = [];
  const newCustomer = (): Customer => {
    // Reuse an earlier mangled id now and then: distinct customers, same raw id.
    const id = ids.length > 0 && rng() < 0.06 ? ids[Math.floor(rng() * ids.length)]! : mangledId(rng);
    ids.push(id);
    const [city, state] = HOME_CITIES[pick(HOME_CUM, rng())]!;
    const cohortYear = 2010 + Math.floor(rng() * 10);
    const cohort = `${cohortYear}${String(1 + Math.floor(rng() * 12)).padStart(2, '0')}`;
    const age = Math.min(99, Math.max(18, Math.round(36 + 8 * normal(rng)) + ageOffset));
    const sex = rng() < 0.53 ? 'F' : 'M';
    const rate = Math.exp(Math.log(0.18) + 0.6 * normal(rng));
    const spendScale = Math.exp(0.35 * normal(rng));
    // The limit follows expected monthly spending: utilisation u = spending / limit, about 0.17 at the median.
    const monthlySpend = 30 * (1 - Math.exp(-rate)) * (1 + EXTRA_TXNS) * MEAN_AMOUNT * spendScale;
    const u = Math.exp(Math.log(0.17) + 0.45 * normal(rng));
    const limit = Math.max(100, Math.round(((monthlySpend / u) * limitScale) / 50) * 50);
    const changes = rng() < 0.25;
    const firstDay = first + (rng() < 0.7 ? 0 : Math.floor(rng() * nDays * 0.5));
    const transactor = rng() < 0.45;
    const payFraction = transactor ? 0.85 + rng() * 0.15 : 0.15 + rng() * 0.45;
    const credit = transactor && rng() < 0.5 ? 0.05 + rng() * 0.35 : 0;
    const stressIn = rng() < 0.3 ? 0 : 1 / (60 + rng() * 240);
    const stressed0 = rng() < (stressIn * 21) / (1 + stressIn * 21);
    const level0 = 0.31 * normal(rng);
    const start = Math.min(1, (u / payFraction) * (0.4 + rng() * 0.8));
    return {
      prefix: `${id};${cohort};${city.padEnd(22, ' ')};${state} ;${age};${sex};`,
      limit,
      limitChangeDay: changes ? firstDay + Math.floor(rng() * (last - firstDay + 1)) : Number.POSITIVE_INFINITY,
      limitAfter: changes ? Math.max(100, Math.round((limit * (0.5 + rng() * 1.5)) / 50) * 50) : limit,
      rate,
      spendScale,
      payFraction,
      credit,
      firstDay,
      payday: PAYDAYS[pick(PAYDAY_CUM, rng())]![0],
      stressIn,
      level0,
      stressed0,
      balance0: limit * start,
    };
  };

  let written = 0;
  let lines: string[] = [];
  const out: string[] = [];
  while (written < rows) {
    const c = newCustomer();
    out.length = 0;
    let balance = c.balance0;
    let stressed = c.stressed0;
    let level = c.level0;
    let sincePay = BURST_DAYS;
    for (let day = c.firstDay, i = day - first; day <= last; day++, i++) {
      const limit = day >= c.limitChangeDay ? c.limitAfter : c.limit;
      // Hidden state: a stress spell starts or ends; the spending level drifts.
      const s = rng();
      stressed = stressed ? s >= STRESS_EXIT : s < c.stressIn;
      level = LEVEL_KEEP * level + LEVEL_STEP * normal(rng);
      // Payday: the card is repaid (a share of the balance; less under stress), overpayers build credit.
      if (dom[i] === Math.min(c.payday, monthEnd[i]!)) {
        const paid = Math.max(0, balance) * (stressed ? c.payFraction * 0.5 : c.payFraction);
        const floor = stressed ? 0 : -c.credit * limit;
        balance = Math.max(Math.min(balance, floor), balance - paid - (stressed ? 0 : c.credit * limit));
        sincePay = 0;
      } else if (sincePay < BURST_DAYS) sincePay += 1;
      const burst = sincePay < BURST_DAYS;
      const intensity = c.rate * (stressed ? 1.7 : 1) * (burst ? 1.7 : 1) * (weekend[i] ? 1.15 : 1);
      if (rng() >= 1 - Math.exp(-intensity)) continue;
      const k = 1 + poisson(rng, EXTRA_TXNS * (stressed ? 1.4 : 1));
      const spend = c.spendScale * Math.exp(level) * (stressed ? 1.3 : 1) * amountScale;
      const nonEssBase = nonEssential * (stressed ? 1.45 : 0.9) * (burst ? 1.2 : 1);
      for (let t = 0; t < k; t++) {
        const ratio = (limit - balance) / limit;
        const nonEss = Math.min(0.95, nonEssBase * (ratio < 0.3 ? 1.3 : 1));
        const group = rng() < nonEss ? OTHER_IDX[pick(OTHER_CUM, rng())]! : ESSENTIAL_IDX[pick(ESSENTIAL_CUM, rng())]!;
        const missing = rng() < missingRate;
        let amountText: string;
        let cityCountry: string;
        if (missing) {
          amountText = ' -   ';
          cityCountry = rng() < 0.7 ? ';' : `${MERCHANT_CITIES[pick(MCITY_CUM, rng())]![0]};BR`;
        } else {
          const raw = Math.exp(3.49 + 1.42 * normal(rng)) * spend;
          const r = rng();
          // Prices: some whole, some to ten cents, most to the cent.
          let cents = r < 0.2 ? Math.round(raw) * 100 : r < 0.4 ? Math.round(raw * 10) * 10 : Math.round(raw * 100);
          if (cents < 1) cents = 1;
          balance = Math.min(balance + cents / 100, limit * 1.02);
          amountText = formatBrazilianAmount(cents);
          const u = rng();
          if (u < 0.0016) cityCountry = ';';
          else if (u < 0.009) {
            const f = FOREIGN[Math.floor(rng() * FOREIGN.length)]!;
            cityCountry = `${f[0]};${f[1]}`;
          } else cityCountry = `${MERCHANT_CITIES[pick(MCITY_CUM, rng())]![0]};BR`;
        }
        const available = Math.max(0, Math.floor(limit - balance));
        out.push(
          `${c.prefix}${limit};${available};${dateText[i]};${amountText};${GROUP_COUNTS[group]![0]};${cityCountry}`,
        );
      }
    }
    const n = out.length;
    // The source lists a customer's rows in no date order.
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rng() * (i + 1));
      const t = out[i]!;
      out[i] = out[j]!;
      out[j] = t;
    }
    for (let i = 0; i < n && written < rows; i++) {
      lines.push(out[i]!);
      written += 1;
      if (written < rows && rng() < 9 / 4955) {
        lines.push(out[i]!); // exact duplicate, as the source has a few
        written += 1;
      }
      if (lines.length >= chunkRows) {
        yield Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
        lines = [];
      }
    }
  }
  if (lines.length > 0) yield Buffer.from(`${lines.join('\r\n')}\r\n`, 'latin1');
}

/**
 * Synthetic MiBolsillo CSV bytes in one buffer (see {@link generateChunks}; use that for large outputs).
 *
 * @example const csv = generate({ rows: 3000, seed: 7 }); // Buffer, header + 3000 CRLF lines
 */
export function generate(options: GenerateOptions): Buffer {
  return Buffer.concat([...generateChunks(options)]);
}
