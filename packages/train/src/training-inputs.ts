/**
 * What train reads of the build stage: the master table (current, or a given hash), its feature
 * selection and forecast horizon, and the (capped) train and calibration rows with only the columns
 * the models and baselines use.
 */
import fs from 'node:fs';
import { readContract, readParquetColumnNames, type DataLayout } from '@bolsillo/core';
import { MasterLatestSchema, MasterManifestSchema, SelectionSchema, TARGET } from '@bolsillo/schema';
import { readTrainingRows, type SampleRecord } from './master-reader';
import type { TrainParams } from './params';

type Row = Record<string, unknown>;

/** Everything a training run starts from. */
export interface TrainingInputs {
  readonly hash: string;
  readonly features: string[];
  /** The target's horizon H from the master manifest; null when the manifest is missing. */
  readonly horizon: number | null;
  /** The customer column: the build's group column (the customer key), or the key itself. */
  readonly group: string;
  readonly train: Row[];
  readonly calibration: Row[];
  /** What was sampled from the master table (rows and customers kept of those available). */
  readonly sampled: SampleRecord;
}

/**
 * The columns to read (pure): the selected features, the baselines' features, target, customer,
 * date, split and fold, in that order, those the table has.
 */
export function trainingColumns(
  features: readonly string[],
  params: TrainParams,
  present: ReadonlySet<string>,
): { columns: string[]; group: string } {
  const group = present.has('group') ? 'group' : 'customer_key';
  const baselineFeatures = (['ratio_rule', 'ratio_graded', 'persistence'] as const).flatMap(
    (k) => params.baselines[k]?.feature ?? [],
  );
  const columns = [...new Set([...features, ...baselineFeatures, TARGET, group, 'date', 'split', 'fold'])].filter((c) =>
    present.has(c),
  );
  return { columns, group };
}

/** Read the master table `hash` (default `master/latest.json`'s) as train needs it. */
export async function readTrainingInputs(
  layout: DataLayout,
  params: TrainParams,
  masterHash?: string,
): Promise<TrainingInputs> {
  const hash = masterHash ?? readContract(layout.masterLatest, MasterLatestSchema, null)?.hash;
  if (!hash) throw new Error(`no master table: ${layout.masterLatest} is missing (run the build stage first)`);
  const masterFile = layout.masterTable(hash);
  if (!fs.existsSync(masterFile)) throw new Error(`${masterFile} not found`);
  const { features } = readContract(layout.masterSelection(hash), SelectionSchema);
  if (features.length === 0) throw new Error(`${layout.masterSelection(hash)}: no features selected`);
  const horizon = readContract(layout.masterManifest(hash), MasterManifestSchema, null)?.target.horizon_days ?? null;
  const present = new Set(await readParquetColumnNames(masterFile));
  const { columns, group } = trainingColumns(features, params, present);
  if (!present.has(TARGET)) throw new Error(`${masterFile}: no target column ${TARGET}`);
  // Only the needed columns, and row objects only for the (capped) train and calibration rows.
  const read = await readTrainingRows(masterFile, columns, {
    maxTrainRows: params.full_round.max_rows,
    maxCalibrationRows: params.calibration.max_rows ?? 50_000,
    seed: params.seed + 1,
  });
  return { hash, features, horizon, group, train: read.train, calibration: read.calibration, sampled: read.sample };
}
