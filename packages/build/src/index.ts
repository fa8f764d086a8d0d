/** @packageDocumentation The build stage. */
export const STAGE = 'build';
