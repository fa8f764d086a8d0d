/**
 * `tsx packages/evaluate/src/cli.ts [evaluate|rollback|force-promote] [options]`
 * evaluate (default): the newest version (or --version) against baselines and the champion; report; gate.
 * rollback: previous → champion (needs --reason). force-promote: --version → champion regardless of the gate (needs --reason; audited).
 */
import { runCli } from '@bolsillo/core';
import { mergeEvaluate, runEvaluateShard } from './evaluate-shards';
import { DEFAULT_PARAMS_FILE, runEvaluate, runForcePromote, runRollback } from './run';

void runCli({
  name: 'evaluate',
  description: [
    'Evaluate a model version: metrics with bootstrap intervals on test and holdout against the prior and rule',
    'baselines and the current champion, decision threshold (decision.json), SVG plots, an HTML report',
    '(reports/<version>/report.html) and the index (reports/index.html); then the promotion gate (verdict.json).',
    'Commands: evaluate (default) | rollback --reason "…" | force-promote --version V --reason "…".',
    'Sharded by customer: shard i of N (--shard i/N) scores the evaluation rows of the customers whose key hashes to i;',
    '--merge then puts the scores back in master-table order and runs the rest of evaluate.',
  ].join('\n'),
  shardable: true,
  options: {
    version: { type: 'string', description: 'Model version (default: the newest non-baseline version).' },
    params: { type: 'string', description: 'Params file.', default: DEFAULT_PARAMS_FILE },
    reason: { type: 'string', description: 'Why (required by rollback and force-promote; recorded in the audit log).' },
    'no-promote': { type: 'boolean', description: 'Evaluate and report but never change aliases.', default: false },
  },
  run: async (ctx) => {
    const command = ctx.positionals[0] ?? 'evaluate';
    const reason = typeof ctx.values.reason === 'string' ? ctx.values.reason : '';
    const version = typeof ctx.values.version === 'string' ? ctx.values.version : undefined;
    if (command !== 'evaluate' && ctx.shard.kind !== 'whole')
      throw new Error(`${command} goes alone, without --shard or --merge`);
    if (command === 'rollback') {
      const a = runRollback(ctx.dataDir, reason);
      ctx.log(`rolled back: champion ${a.champion ?? 'none'}`);
      return { rowsIn: 0, rowsOut: 0, summary: { command, champion: a.champion } };
    }
    if (command === 'force-promote') {
      if (!version) throw new Error('force-promote: --version is required');
      const a = runForcePromote(ctx.dataDir, version, reason);
      ctx.log(`force-promoted ${version}: champion ${a.champion}, previous ${a.previous ?? 'none'}`);
      return { rowsIn: 0, rowsOut: 0, summary: { command, champion: a.champion, previous: a.previous } };
    }
    if (command !== 'evaluate') throw new Error(`unknown command "${command}" (evaluate, rollback, force-promote)`);
    const options = {
      dataDir: ctx.dataDir,
      ...(version ? { version } : {}),
      paramsFile: String(ctx.values.params),
      noPromote: ctx.values['no-promote'] === true,
      log: ctx.log,
    };
    if (ctx.shard.kind === 'shard')
      return runEvaluateShard({ ...options, index: ctx.shard.index, count: ctx.shard.count });
    const r =
      ctx.shard.kind === 'merge'
        ? await mergeEvaluate({ ...options, shards: ctx.shard.count })
        : await runEvaluate(options);
    ctx.log(
      `verdict ${r.verdict.decision}${r.verdict.promoted ? ' (promoted)' : ''}: ${r.verdict.reasons.join(' | ')}`,
    );
    ctx.log(`report ${r.reportDir}/report.html`);
    return {
      rowsIn: r.rowsIn,
      rowsOut: r.rowsOut,
      unitOut: 'scored rows',
      summary: {
        version: r.version,
        decision: r.verdict.decision,
        promoted: r.verdict.promoted,
        strongest_baseline: r.verdict.strongest_baseline?.kind ?? null,
        served: r.verdict.served.version,
        champion: r.aliases.champion,
      },
    };
  },
});
