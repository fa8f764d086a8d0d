/** Shared test helpers: prerequisites that gate a test, and stage CLIs run as separate processes. */
export * from './prerequisites';
export * from './stage-cli';
