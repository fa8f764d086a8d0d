import { CYRB53_SEED_1, CYRB53_SEED_2, cyrb53, cyrb53Finish, cyrb53Lane1, cyrb53Lane2 } from './hash';

describe('cyrb53', () => {
  it('gives the published values of cyrb53 (seed 0)', () => {
    expect(['a', 'b', 'revenge', 'revenue'].map(cyrb53)).toEqual([
      7929297801672961, 8684336938537663, 4051478007546757, 8309097637345594,
    ]);
  });

  it('is a 53-bit integer, equal for equal text only (in these cases)', () => {
    const lines = ['1;2;3', '1;2;3 ', 'São Paulo', 'Sao Paulo', ''];
    const hashes = lines.map(cyrb53);
    for (const h of hashes) expect(Number.isSafeInteger(h) && h >= 0).toBe(true);
    expect(new Set(hashes).size).toBe(lines.length);
    expect(cyrb53('1;2;3')).toBe(hashes[0]);
  });

  it('is the same when a caller feeds the code units through the lanes itself', () => {
    const text = 'CIDADE;UF;Ç;123,45';
    let h1 = CYRB53_SEED_1;
    let h2 = CYRB53_SEED_2;
    for (let i = 0; i < text.length; i++) {
      h1 = cyrb53Lane1(h1, text.charCodeAt(i));
      h2 = cyrb53Lane2(h2, text.charCodeAt(i));
    }
    expect(cyrb53Finish(h1, h2)).toBe(cyrb53(text));
  });
});
