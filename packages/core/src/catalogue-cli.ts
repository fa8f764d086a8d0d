/**
 * `npx nx run core:docs`: rewrite the table of docs/architecture.md's "The dataset catalogue" from
 * {@link DATASETS} (the Nx target then runs Prettier over the page).
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic';
import { catalogueMarkdown } from './paths';

const file = path.resolve(process.argv[2] ?? path.join('docs', 'architecture.md'));
const text = fs.readFileSync(file, 'utf8');
const section = text.indexOf('## The dataset catalogue');
const start = text.indexOf('\n|', section) + 1;
const end = text.indexOf('\n\n', start);
if (section < 0 || start <= section || end < start) throw new Error(`${file}: no dataset catalogue table found`);
writeFileAtomic(file, `${text.slice(0, start)}${catalogueMarkdown()}${text.slice(end)}`);
process.stderr.write(`wrote the dataset catalogue into ${file}\n`);
