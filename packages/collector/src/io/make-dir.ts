// mkdir -p without fs.mkdirSync's `recursive`, which spins at 100 % CPU
// forever where mkdir fails with ENOENT although the parent exists (inside
// /proc or /sys): it takes that ENOENT for a missing parent and retries.
import fs from 'node:fs';
import path from 'node:path';

/** Creates `dir` and its missing parents (with `mode`); the first failing mkdir throws. */
export function makeDir(dir: string, mode?: number): void {
  const missing: string[] = [];
  for (let d = path.resolve(dir); !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) fs.mkdirSync(d, { mode });
}
