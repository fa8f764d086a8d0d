/** Shared test helpers: prerequisites that gate a test, stage CLIs run as separate processes, the audit trail. */
export * from './prerequisites';
export * from './stage-cli';
export * from './audit-trail';
