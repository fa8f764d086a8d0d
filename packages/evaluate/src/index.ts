/** @packageDocumentation The evaluate stage. */
export const STAGE = 'evaluate';
