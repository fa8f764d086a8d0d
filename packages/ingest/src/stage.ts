/** The stage name. */
export const STAGE = 'ingest';
