/** @packageDocumentation The ingest stage. */
export const STAGE = 'ingest';
