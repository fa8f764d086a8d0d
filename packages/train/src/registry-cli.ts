import path from 'node:path';
import { dataLayout, readContract, runCli, type CliContext } from '@bolsillo/core';
import { listVersions, readAliases, readCard, rollback, setAlias, ALIAS_NAMES } from '@bolsillo/model';
import { DecisionSchema, GateVerdictSchema, type AliasName, type GateVerdict, type ModelCard } from '@bolsillo/schema';
import { cvSummary, thresholdSummary } from './cv-summary';

const fmt = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v));

/** One line per version: what a person scans to pick a model. */
export function formatList(cards: readonly ModelCard[], aliases: Record<string, string | null>): string {
  const tag = (v: string) =>
    ALIAS_NAMES.filter((a) => aliases[a] === v)
      .map((a) => `[${a}]`)
      .join('');
  const header = ['version', 'family', 'role', 'cv', 'master', 'backend', 'created', 'aliases'];
  const rows = cards.map((c) => [
    c.version,
    c.family,
    c.role ?? '',
    cvSummary(c),
    c.master_hash.slice(0, 12),
    c.backend,
    c.created_at,
    tag(c.version),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) =>
      r
        .map((v, i) => v.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The card's evaluation line, from `reports/<version>/verdict.json` (written by evaluate; the one record of the baseline comparison). */
function evaluationLines(card: ModelCard, verdict: GateVerdict | null): string[] {
  const file = card.evaluation?.verdict_file;
  if (!file) return [];
  if (!verdict) return [`evaluation     not evaluated yet (${file})`];
  const s = verdict.strongest_baseline;
  const beat = s
    ? `${s.beaten ? 'beats' : 'does not beat'} the strongest baseline ${s.kind} (${s.metric} delta ${fmt(s.delta.value)} [${fmt(s.delta.lo)}, ${fmt(s.delta.hi)}], customer bootstrap)`
    : 'no baseline compared';
  const whose = verdict.version !== card.version ? `candidate ${verdict.version} ` : '';
  return [
    `evaluation     ${whose}${verdict.decision}; ${whose ? 'it ' : ''}${beat}; serving ${verdict.served.version ?? '?'} (${verdict.served.role}) — ${file}`,
  ];
}

/** Everything needed to trust one version: data hash, params, CV and calibration metrics, backend, when, population, limitations, verdict. */
export function formatShow(
  card: ModelCard,
  aliases: Record<string, string | null>,
  decision: Parameters<typeof thresholdSummary>[1],
  verdict: GateVerdict | null = null,
): string {
  const on = ALIAS_NAMES.filter((a) => aliases[a] === card.version);
  const cv = card.cv as {
    selection_metric?: string;
    folds?: number;
    rows?: number;
    rounds?: unknown;
    customers?: number;
    positive_customers?: number;
    plan?: { description?: string };
  };
  const pop = card.population;
  const slice = (p: NonNullable<ModelCard['population']>['train']) =>
    `${p.rows} rows, ${p.positives} positives, ${p.customers} customers (${p.positive_customers} with positives), ${p.date_from ?? '?'} .. ${p.date_to ?? '?'}`;
  const cal = card.calibration as { method?: string; comparison?: { method: string; brier: number; ece: number }[] };
  return [
    `version        ${card.version}${on.length ? `  (${on.join(', ')})` : ''}`,
    `family         ${card.family}${card.role ? ` (${card.role}${card.baseline_kind ? `: ${card.baseline_kind}` : ''})` : ''}`,
    ...(card.intended_use ? [`intended use   ${card.intended_use}`] : []),
    ...(card.target
      ? [`target         ${card.target}${card.horizon_days ? `, horizon ${card.horizon_days} days` : ''}`]
      : []),
    ...(pop
      ? [
          `population     train: ${slice(pop.train)}${pop.sampled ? ' (sampled)' : ''}`,
          `               calibration: ${slice(pop.calibration)}`,
        ]
      : []),
    ...(card.limitations?.warnings.length
      ? card.limitations.warnings.map((w, i) => `${i ? '               ' : 'limitations    '}${w}`)
      : []),
    `created        ${card.created_at}`,
    `master hash    ${card.master_hash}`,
    `code version   ${card.code_version}`,
    `backend        ${card.backend}`,
    `train seconds  ${card.training_seconds.toFixed(1)}`,
    `features (${card.features.length})  ${card.features.join(', ')}`,
    `params         ${JSON.stringify(card.params)}`,
    `cv             ${cv.selection_metric ?? ''} over ${cv.plan?.description ?? `${cv.folds ?? '?'} grouped folds`}, ${cv.rows ?? '?'} rows${cv.customers !== undefined ? `, ${cv.customers} customers (${cv.positive_customers ?? '?'} with positives)` : ''}; rounds ${JSON.stringify(cv.rounds ?? {})}`,
    `calibration    ${cal.method ?? '?'}${cal.comparison ? ` (${cal.comparison.map((c) => `${c.method}: brier ${fmt(c.brier)}, ece ${fmt(c.ece)}`).join('; ')})` : ''}`,
    `threshold      ${thresholdSummary(card, decision)}`,
    `baselines      ${card.baselines ? JSON.stringify(card.baselines) : '-'}`,
    `parent         ${card.parent ?? '-'}`,
    ...evaluationLines(card, verdict),
    'metrics',
    ...Object.entries(card.metrics).map(([k, v]) => `  ${k.padEnd(28)} ${fmt(v)}`),
  ].join('\n');
}

async function main(ctx: CliContext) {
  const layout = dataLayout(ctx.dataDir);
  const registry = layout.registry;
  const [command, ...args] = ctx.positionals;
  const reason = ctx.values.reason ? String(ctx.values.reason) : '';
  const out = (s: string) => process.stdout.write(`${s}\n`);
  switch (command) {
    case 'list': {
      const cards = listVersions(registry);
      out(cards.length ? formatList(cards, readAliases(registry)) : `no versions in ${registry}`);
      return { rowsIn: cards.length, rowsOut: cards.length };
    }
    case 'show': {
      const aliases = readAliases(registry);
      const version =
        args[0] && (ALIAS_NAMES as readonly string[]).includes(args[0]) ? aliases[args[0] as AliasName] : args[0];
      if (!version) throw new Error('usage: registry show <version|alias>');
      const card = readCard(registry, version);
      const verdictFile = card.evaluation?.verdict_file ? path.join(ctx.dataDir, card.evaluation.verdict_file) : null;
      out(
        formatShow(
          card,
          aliases,
          readContract(layout.modelDecision(version), DecisionSchema, null),
          verdictFile ? readContract(verdictFile, GateVerdictSchema, null) : null,
        ),
      );
      return { rowsIn: 1, rowsOut: 1 };
    }
    case 'alias': {
      const [name, version] = args;
      if (!name || !version)
        throw new Error('usage: registry alias <champion|challenger|previous> <version|none> --reason "…"');
      const a = setAlias(registry, name as AliasName, version === 'none' ? null : version, reason);
      out(JSON.stringify(a));
      return { rowsIn: 1, rowsOut: 1 };
    }
    case 'rollback': {
      const a = rollback(registry, reason);
      out(JSON.stringify(a));
      return { rowsIn: 1, rowsOut: 1 };
    }
    default:
      throw new Error(
        `unknown command "${command ?? ''}": use list, show <version>, alias <name> <version> --reason, rollback --reason`,
      );
  }
}

if (require.main === module) {
  void runCli({
    name: 'registry',
    description:
      'Model registry: `list` (versions with CV metric, data hash, backend, aliases), `show <version|alias>` (the card: data hash, params, metrics, calibration, backend, when), `alias <name> <version|none> --reason …`, `rollback --reason …`.',
    options: {
      reason: { type: 'string', description: 'Why (required for alias and rollback; written to registry/audit.jsonl)' },
    },
    recordRun: false,
    run: main,
  });
}
