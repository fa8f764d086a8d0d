import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageFile } from './params';

describe('packageFile', () => {
  it('finds a file at the root of the package, whatever the working directory', () => {
    expect(packageFile(__dirname, 'params.json')).toBe(path.resolve(__dirname, '..', 'params.json'));
  });

  it('climbs from a nested folder to the nearest package.json', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'package-file-'));
    fs.writeFileSync(path.join(root, 'package.json'), '{}');
    const nested = path.join(root, 'dist', 'sub');
    fs.mkdirSync(nested, { recursive: true });
    expect(packageFile(nested, 'policy.json')).toBe(path.join(root, 'policy.json'));
  });
});
