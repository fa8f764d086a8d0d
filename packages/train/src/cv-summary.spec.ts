import type { ModelCard } from '@bolsillo/schema';
import { cvSummary, thresholdSummary } from './cv-summary';
import { formatList, formatShow } from './registry-cli';

// The figures of the issue: pooled out-of-fold PR-AUC 0.8713, fold mean 0.5865, fold sd 0.3263; card threshold 0.1532, served 0.1151.
const card = {
  version: '20200101T000000Z-abcdef',
  family: 'mlp',
  role: 'candidate',
  master_hash: '0123456789abcdef',
  backend: 'wasm',
  created_at: '2020-01-01T00:00:00.000Z',
  code_version: 'x',
  training_seconds: 1,
  features: ['age'],
  params: {},
  calibration: {},
  threshold: 0.1532,
  parent: null,
  cv: { selection_metric: 'pr_auc', rounds: { selection_aggregate: 'pooled' } },
  metrics: { cv_pr_auc: 0.5865, cv_pr_auc_std: 0.3263, cv_oof_pr_auc: 0.8713 },
} as unknown as ModelCard;

describe('one CV number, one name', () => {
  it('names the pooled out-of-fold figure and never pairs it with the fold spread', () => {
    expect(cvSummary(card)).toBe('pr_auc pooled out-of-fold 0.8713 (fold mean 0.5865 ± 0.3263 sd)');
    expect(
      cvSummary({ ...card, cv: { selection_metric: 'pr_auc', rounds: { selection_aggregate: 'fold_mean' } } }),
    ).toBe('pr_auc fold mean 0.5865 ± 0.3263 sd');
  });

  it('registry list prints the same string as the train log (both cvSummary of the card)', () => {
    const [, row] = formatList([card], { champion: null, challenger: card.version, previous: null }).split('\n');
    expect(row).toContain('pr_auc pooled out-of-fold 0.8713 (fold mean 0.5865 ± 0.3263 sd)');
    expect(row).not.toMatch(/0\.5865 ± 0\.3263(?! sd)/);
  });

  it('the card view says which threshold is served and where it comes from', () => {
    const decision = { threshold: 0.1151, objective: 'f1', chosen_on: 'calibration' };
    expect(thresholdSummary(card, decision)).toBe(
      "served 0.1151 (decision.json, chosen by evaluate: best f1 on the calibration split; the API and monitor use it); train's proposal 0.1532 (card)",
    );
    expect(formatShow(card, { champion: null, challenger: null, previous: null }, decision)).toContain(
      'threshold      served 0.1151 (decision.json',
    );
    expect(thresholdSummary(card, null)).toBe(
      "served 0.1532 (card: train's proposal; evaluate has not written decision.json yet)",
    );
  });
});
