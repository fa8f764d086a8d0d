/**
 * Who competes with the candidate: the current champion (when it can score this master table) and
 * the newest registered baseline of each kind trained on the same master table. Planning is pure
 * over the registry's cards and aliases; loading the models is the one I/O step.
 */
import { loadModel, type LoadedModel } from '@bolsillo/model';
import { BASELINE_KINDS, type Aliases, type ModelCard } from '@bolsillo/schema';
import type { Contender } from './evaluation';
import type { ScoredMaster, Scored } from './score-master';

/** Families that are baselines, not candidates for the newest-version default. */
const BASELINE_FAMILIES = new Set(['prior', 'rule']);

/** Pick the version to evaluate: the requested one, else the newest non-baseline (else newest). */
export function pickCandidate(cards: readonly ModelCard[], requested?: string): ModelCard {
  if (requested) {
    const c = cards.find((x) => x.version === requested);
    if (!c) throw new Error(`evaluate: version ${requested} is not in the registry`);
    return c;
  }
  const real = cards.filter((c) => c.role !== 'baseline' && !BASELINE_FAMILIES.has(c.family));
  const pick = real[real.length - 1] ?? cards[cards.length - 1];
  if (!pick) throw new Error('evaluate: the registry holds no model versions (run train first)');
  return pick;
}

/** What a registered baseline does, from its card: the prior's rate, or a scorer's feature, direction and threshold. */
export function baselineDescription(c: ModelCard): string {
  const p = c.params as {
    probability?: number;
    feature?: string;
    direction?: string;
    threshold?: number | null;
    all?: { feature: string; op: string; value: unknown }[];
  };
  const what =
    c.family === 'prior'
      ? `constant train prevalence ${(p.probability ?? NaN).toFixed(4)}`
      : c.family === 'feature'
        ? p.threshold === null || p.threshold === undefined
          ? `graded: ${p.direction === 'lower' ? 'lower' : 'higher'} ${p.feature} means more risk`
          : `rule: ${p.feature} ${p.direction === 'lower' ? '<' : '>'} ${p.threshold}`
        : c.family === 'rule'
          ? `rule: ${(p.all ?? []).map((r) => `${r.feature} ${r.op} ${String(r.value)}`).join(' and ')}`
          : c.family;
  return `${what}; registered ${c.version}`;
}

/** One model that will score the evaluation rows, before it is loaded. */
export interface PlannedContender {
  readonly id: string;
  readonly label: string;
  readonly role: Contender['role'];
  readonly version: string;
  readonly description: string;
  readonly kind?: string;
  /** The champion keeps the threshold it serves at; the others get one chosen by the objective. */
  readonly keepsServedThreshold: boolean;
}

/** The contenders in report order (candidate, champion, baselines in kind order), and what was left out and why. */
export interface ContenderPlan {
  readonly contenders: readonly PlannedContender[];
  readonly notes: readonly string[];
}

const kindOrder = (k: string) => {
  const i = (BASELINE_KINDS as readonly string[]).indexOf(k);
  return i < 0 ? BASELINE_KINDS.length : i;
};

/**
 * Plan the contenders of `candidate` (pure): the champion when it is another version whose features
 * the master table has, and the newest baseline of each kind registered with the same master table
 * (a baseline fitted on other data proves nothing here) that can score it.
 */
export function planContenders(
  candidate: ModelCard,
  cards: readonly ModelCard[],
  aliases: Aliases,
  canScore: (card: ModelCard) => boolean,
): ContenderPlan {
  const version = candidate.version;
  const contenders: PlannedContender[] = [
    {
      id: 'candidate',
      label: `${candidate.family} ${version}`,
      role: 'candidate',
      version,
      description: `registered ${candidate.family} model ${version}`,
      keepsServedThreshold: false,
    },
  ];
  const notes: string[] = [];
  const championCard =
    aliases.champion && aliases.champion !== version ? cards.find((c) => c.version === aliases.champion) : undefined;
  if (championCard && canScore(championCard)) {
    const kind = championCard.role === 'baseline' ? (championCard.baseline_kind ?? championCard.family) : undefined;
    contenders.push({
      id: 'champion',
      label: kind ? `champion (${kind} baseline)` : `${championCard.family} ${championCard.version}`,
      role: 'champion',
      version: championCard.version,
      description: `registered ${championCard.family} model ${championCard.version}${championCard.master_hash !== candidate.master_hash ? ` (trained on master ${championCard.master_hash})` : ''}`,
      ...(kind ? { kind } : {}),
      keepsServedThreshold: true,
    });
  } else if (championCard)
    notes.push(
      `champion ${championCard.version} cannot score this master (features missing): it is not compared, and is replaced by what the gate serves`,
    );
  const baselineCards = new Map<string, ModelCard>();
  for (const c of cards) {
    if (c.version === version || c.master_hash !== candidate.master_hash || c.role !== 'baseline') continue;
    baselineCards.set(c.baseline_kind ?? c.family, c);
  }
  for (const [kind, c] of [...baselineCards].sort(
    (a, b) => kindOrder(a[0]) - kindOrder(b[0]) || a[0].localeCompare(b[0]),
  )) {
    if (!canScore(c)) continue;
    contenders.push({
      id: kind,
      label: `${kind} baseline`,
      role: 'baseline',
      version: c.version,
      description: baselineDescription(c),
      kind,
      keepsServedThreshold: false,
    });
  }
  if (!contenders.some((m) => m.role === 'baseline'))
    notes.push(
      `no registered baseline trained on master ${candidate.master_hash}: the gate cannot show the candidate beats a rule`,
    );
  return { contenders, notes };
}

/** A planned contender with its model loaded. */
export interface LoadedContender extends PlannedContender {
  readonly model: LoadedModel;
}

/** Load every planned contender's model from the registry, in plan order. */
export async function loadContenders(
  registryDir: string,
  plan: readonly PlannedContender[],
): Promise<LoadedContender[]> {
  const out: LoadedContender[] = [];
  for (const p of plan) out.push({ ...p, model: await loadModel(registryDir, p.version) });
  return out;
}

/** The contenders as the evaluation takes them: each one's scores on the threshold split and the evaluation splits. */
export function contendersOf(
  models: readonly LoadedContender[],
  scored: ScoredMaster,
  thresholdSplit: Scored,
): Contender[] {
  return models.map((m) => ({
    id: m.id,
    label: m.label,
    role: m.role,
    version: m.version,
    description: m.description,
    ...(m.kind ? { kind: m.kind } : {}),
    scores: {
      threshold: scored.scores[m.id]![thresholdSplit].values(),
      test: scored.scores[m.id]!.test.values(),
      holdout: scored.scores[m.id]!.holdout.values(),
    },
    ...(m.keepsServedThreshold ? { fixedThreshold: m.model.threshold } : {}),
  }));
}
