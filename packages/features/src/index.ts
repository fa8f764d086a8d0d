/** @packageDocumentation The features stage. */
export const STAGE = 'features';
