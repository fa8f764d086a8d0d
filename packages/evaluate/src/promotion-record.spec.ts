import { dataLayout } from '@bolsillo/core';
import type { Aliases, ModelCard } from '@bolsillo/schema';
import { DEFAULT_EVALUATE_PARAMS } from './params';
import { clearPromotion, donePromotion, evaluationKey, recordPromotion } from './promotion-record';
import { tempDataDir } from './fixtures.test-util';

const card = { version: 'v2', master_hash: 'm1' } as ModelCard;
const params = DEFAULT_EVALUATE_PARAMS;
const seen: Aliases = { champion: 'v1', challenger: null, previous: 'v0', updated_at: '2026-12-01T00:00:00.000Z' };
const moved: Aliases = { champion: 'v2', challenger: null, previous: 'v1', updated_at: '2026-12-03T00:00:00.000Z' };

describe('the promotion record of an evaluation', () => {
  const layout = dataLayout(tempDataDir('promotion-record-'));
  beforeEach(() =>
    recordPromotion(layout, {
      version: 1,
      run: evaluationKey(card, params),
      candidate: 'v2',
      aliases: seen,
      promote: 'v2',
    }),
  );

  it('gives the aliases the run saw when the alias moved as recorded', () => {
    expect(donePromotion(layout, card, params, moved)?.aliases).toEqual(seen);
  });

  it('is not used when the alias has not moved, or moved otherwise, or for another evaluation', () => {
    expect(donePromotion(layout, card, params, seen)).toBeNull();
    expect(donePromotion(layout, card, params, { ...moved, previous: 'v0' })).toBeNull();
    expect(donePromotion(layout, { ...card, master_hash: 'm2' }, params, moved)).toBeNull();
    expect(
      donePromotion(layout, card, { ...params, bootstrap: { ...params.bootstrap, iterations: 7 } }, moved),
    ).toBeNull();
  });

  it('is gone once cleared', () => {
    clearPromotion(layout);
    expect(donePromotion(layout, card, params, moved)).toBeNull();
  });
});
