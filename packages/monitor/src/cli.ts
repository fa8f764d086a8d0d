import path from 'node:path';
import { packageFile, runCli } from '@bolsillo/core';
import { loadMonitorConfig, runMonitor } from './run';

// A retrain runs Nx from the workspace root.
const ROOT = path.resolve(__dirname, '../../..');

void runCli({
  name: 'monitor',
  description:
    'Monitor the pipeline: data drift of the new feature-store partitions against the build profile, model metrics and value from labelled outcomes (feedback and computable targets), compute cost, and the alarm policy (retrain, roll back, promote). Writes DATA_DIR/monitoring/report/*.json, monitoring/state.json and appends actions to monitoring/actions.jsonl. Rollback and promote run through the registry; a retrain is only recorded as requested unless --allow-retrain is given, so the Nx pipeline never recurses into itself.',
  readOnly: (values) => values['dry-run'] === true,
  options: {
    from: {
      type: 'string',
      description: 'First date of the monitoring window (YYYY-MM-DD); default: partitions newer than the master table.',
    },
    to: { type: 'string', description: 'Last date of the monitoring window (YYYY-MM-DD).' },
    'dry-run': {
      type: 'boolean',
      description: 'Evaluate the policy and report the actions it would take, change nothing.',
      default: false,
    },
    'allow-retrain': {
      type: 'boolean',
      description: 'Run a requested retrain as a child process (build, train, evaluate through Nx).',
      default: false,
    },
    params: { type: 'string', description: 'Params file.', default: packageFile(__dirname, 'params.json') },
    policy: {
      type: 'string',
      description: 'Alarm policy file.',
      default: packageFile(__dirname, 'policy.json'),
    },
  },
  run: async (ctx) => {
    const { params, policy } = loadMonitorConfig(String(ctx.values.params), String(ctx.values.policy));
    const s = await runMonitor({
      dataDir: ctx.dataDir,
      params,
      policy,
      from: ctx.values.from as string | undefined,
      to: ctx.values.to as string | undefined,
      dryRun: ctx.values['dry-run'] === true,
      allowRetrain: ctx.values['allow-retrain'] === true,
      workspaceRoot: ROOT,
      now: new Date(),
      log: ctx.log,
    });
    const firing = s.alarms.alarms.filter((a) => a.status === 'firing').map((a) => a.rule);
    ctx.log(
      `drift: ${s.drift.result ? `${s.drift.result.driftedCount}/${s.drift.result.features.length} features drifted, PSI above threshold on ${s.drift.result.psiAboveCount}` : 'no window or reference'}; labels: ${s.metrics.labels.feedback} feedback + ${s.metrics.labels.computed} computed; alarms firing: ${firing.join(', ') || 'none'}`,
    );
    return {
      rowsIn: s.drift.window.rows,
      unitIn: 'window rows',
      rowsOut: s.alarms.actions.length,
      unitOut: 'actions',
      summary: {
        drifted: s.drift.result?.driftedCount ?? 0,
        firing,
        actions: s.alarms.actions.map((a) => `${a.action}:${a.status}`),
      },
    };
  },
});
