/** @packageDocumentation The train stage. */
export const STAGE = 'train';
