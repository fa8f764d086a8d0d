/** Name of the stage (runs.jsonl, logs). */
export const STAGE = 'build';
