// The private fallback (src/trace/pg-span-fallback.ts) hooks only the
// instrumentation-pg versions in TESTED_RANGE, and that range must be what
// the compatibility matrix (test/matrix/*/) installs: every minor the range
// admits has a row that pins it, and the range admits the newest row. A new
// matrix row or a wider range without the other fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';
import { TESTED_RANGE } from '../src/trace/pg-span-fallback';

const MATRIX = path.join(__dirname, 'matrix');
const PG_INSTRUMENTATION = '@opentelemetry/instrumentation-pg';

/** The instrumentation-pg version each row installs (the lowest its spec allows: rows pin a minor). */
function rowVersions(): Map<string, semver.SemVer> {
  const rows = new Map<string, semver.SemVer>();
  for (const e of fs.readdirSync(MATRIX, { withFileTypes: true })) {
    const manifest = path.join(MATRIX, e.name, 'package.json');
    if (!e.isDirectory() || !fs.existsSync(manifest)) continue;
    const spec = (JSON.parse(fs.readFileSync(manifest, 'utf8')) as { dependencies?: Record<string, string> }).dependencies?.[PG_INSTRUMENTATION];
    const v = spec ? semver.minVersion(spec) : null;
    if (v) rows.set(e.name, v);
  }
  return rows;
}

const minor = (v: semver.SemVer) => `${v.major}.${v.minor}`;

test(`TESTED_RANGE (${TESTED_RANGE}) is the instrumentation-pg minors the matrix installs`, () => {
  const rows = rowVersions();
  expect(rows.size).toBeGreaterThan(0);
  const tested = new Set([...rows.values()].map(minor));
  // every minor from the range's lowest up to the newest row the range admits has a row
  const low = semver.minVersion(TESTED_RANGE)!;
  const admitted: string[] = [];
  for (let m = low.minor; semver.satisfies(`${low.major}.${m}.0`, TESTED_RANGE); m++) admitted.push(`${low.major}.${m}`);
  expect(admitted.filter((m) => !tested.has(m))).toEqual([]);
  // the newest row is inside the range, and the range ends right after it
  const newest = [...rows.values()].sort(semver.compare).at(-1)!;
  expect(semver.satisfies(newest, TESTED_RANGE)).toBe(true);
  expect(semver.satisfies(`${newest.major}.${newest.minor + 1}.0`, TESTED_RANGE)).toBe(false);
});
