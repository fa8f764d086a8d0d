const INT32_MAX = 2 ** 31 - 1;

/** Whitespace a field is trimmed of. */
const isSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0d;

/**
 * A non-negative integer field ("^\d+$" after trimming) of at most int32 range, parsed from ASCII bytes;
 * -1 when the bytes are anything else (the row then takes the string path, which decides exactly).
 */
export function parseIntField(buf: Uint8Array, s: number, e: number): number {
  while (s < e && isSpace(buf[s]!)) s++;
  while (e > s && isSpace(buf[e - 1]!)) e--;
  if (e === s || e - s > 10) return -1;
  let v = 0;
  for (let i = s; i < e; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v > INT32_MAX ? -1 : v;
}

/**
 * A Brazilian amount from ASCII bytes, exactly as `parseBrazilianAmount`: the digits form an integer below
 * 2^53 divided by a power of ten, which IEEE division rounds correctly, i.e. to the same double as the
 * decimal text. Returns null for the missing marker, undefined when the fast path cannot decide (negative,
 * malformed, too many digits): the string path then handles the row.
 */
export function parseAmountField(buf: Uint8Array, s: number, e: number): number | null | undefined {
  while (s < e && isSpace(buf[s]!)) s++;
  while (e > s && isSpace(buf[e - 1]!)) e--;
  if (e === s || (e - s === 1 && buf[s] === 0x2d)) return null;
  let i = s;
  let value = 0;
  let digits = 0;
  // Integer part: plain digits, or 1-3 digits followed by groups of ".ddd".
  let run = 0;
  let grouped = false;
  while (i < e) {
    const b = buf[i]!;
    if (b >= 48 && b <= 57) {
      value = value * 10 + (b - 48);
      digits++;
      run++;
      i++;
    } else if (b === 0x2e) {
      if (grouped ? run !== 3 : run < 1 || run > 3) return undefined;
      grouped = true;
      run = 0;
      i++;
    } else break;
  }
  if (run === 0 || (grouped && run !== 3)) return undefined;
  let scale = 1;
  if (i < e) {
    if (buf[i] !== 0x2c || i + 1 === e) return undefined;
    i++;
    while (i < e) {
      const d = buf[i]! - 48;
      if (d < 0 || d > 9) return undefined;
      value = value * 10 + d;
      digits++;
      scale *= 10;
      i++;
    }
  }
  if (digits > 15) return undefined;
  return scale === 1 ? value : value / scale;
}
