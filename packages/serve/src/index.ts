/** @packageDocumentation The serve stage. */
export const STAGE = 'serve';
