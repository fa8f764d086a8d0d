/**
 * The feature kernel: the one code path that computes features, shared by the offline features
 * stage and online serving.
 */
export {
  computeFeatures,
  computeFeaturesInto,
  computeBatchInto,
  CustomerHistory,
  updateCustomerState,
  foldCustomerState,
  cloneCustomerState,
  emptyCustomerState,
  DEFAULT_FEATURE_PARAMS,
  HISTORY_WINDOW_DAYS,
} from './kernel';
export type {
  FeatureParams,
  FeatureInput,
  CustomerState,
  RecentTransaction,
  KernelColumns,
  KernelStrings,
} from './kernel';
export { revengeFlag, revengeFlagOfRatio, normaliseGroup } from './flag';
export type { FlagRule, RevengeFlag } from './flag';
export { readOnlineStore, parseOnlineStore, ONLINE_STORE_FILE } from './online-store';
export type { OnlineStoreSnapshot } from './online-store';
export { epochDay, isoFromEpochDay, easterSunday, brazilianHolidays, isBrazilianHoliday } from './calendar';
export { FeatureColumns, FEATURE_INDEX } from './feature-columns';
export type { FeatureColumnsOptions, FeatureColumnsArrays } from './feature-columns';
