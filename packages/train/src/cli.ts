import { dataLayout, runCli } from '@bolsillo/core';
import { readCard } from '@bolsillo/model';
import { cvSummary } from './cv-summary';
import { DEFAULT_PARAMS_FILE, runTrain } from './run';

void runCli({
  name: 'train',
  description:
    'Train the revenge-spending model on the latest master table: algorithm selection on a group sample, grid + random hyper-parameter search with grouped CV, calibration, and registration (chosen model as challenger, plus the baselines: prior, ratio rule, graded ratio, persistence, best single feature).',
  options: {
    params: { type: 'string', description: 'Params file', default: DEFAULT_PARAMS_FILE },
    master: { type: 'string', description: 'Master-table hash (default: master/latest.json)' },
    backend: {
      type: 'string',
      choices: ['wasm', 'cpu'],
      description: 'Force a tfjs backend (default: tfjs-node if installed, else wasm)',
    },
  },
  run: async (ctx) => {
    const s = await runTrain({
      dataDir: ctx.dataDir,
      paramsFile: String(ctx.values.params),
      masterHash: ctx.values.master ? String(ctx.values.master) : undefined,
      backend: ctx.values.backend ? String(ctx.values.backend) : undefined,
      log: ctx.log,
    });
    ctx.log(
      // The CV figure is printed from the card, as `registry list` prints it: one number, one name.
      `${s.version} ${s.family}: cv ${cvSummary(readCard(dataLayout(ctx.dataDir).registry, s.version))}; baselines on the same selection score: ${Object.entries(
        s.baseline_cv,
      )
        .map(([k, v]) => `${k} ${v.toFixed(4)}`)
        .join(', ')}; backend ${s.backend}; ${s.seconds.toFixed(1)}s`,
    );
    return {
      rowsIn: s.train_rows,
      unitIn: 'training rows',
      // The chosen model and its registered baselines.
      rowsOut: 1 + Object.keys(s.baselines).length,
      unitOut: 'models',
      summary: {
        version: s.version,
        family: s.family,
        master_hash: s.master_hash,
        backend: s.backend,
        cv: s.cv,
        baseline_cv: s.baseline_cv,
        baselines: s.baselines,
      },
    };
  },
});
