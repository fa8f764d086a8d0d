/** @packageDocumentation The monitor stage. */
export const STAGE = 'monitor';
