// Every test and fixture type-checks under the repo's strict settings: jest
// (ts-jest, isolatedModules) only transpiles, so a fixture that no longer
// matches the types it builds (a missing argument, a record without a new
// field) would run with `undefined` where the product never sees one.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..');

test('tsc -p tsconfig.test.json reports no error', () => {
  let out = '';
  try {
    execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.test.json', '--noEmit'], { cwd: root, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
  }
  expect(out).toBe('');
}, 300_000);
