// The private fallback (src/trace/pg-span-fallback.ts) hooks only the
// instrumentation-pg versions in TESTED_RANGE, and that range must be what
// the compatibility matrix (test/matrix/*/) runs: every minor the range admits
// is installed by some row (at the top or nested under
// auto-instrumentations-node, which pins its own), and the newest copy —
// matrix/newest/ has the registry's newest of the day setup ran — is inside
// it. A release outside the range fails here with what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';
import { TESTED_RANGE } from '../src/trace/pg-span-fallback';

const MATRIX = path.join(__dirname, 'matrix');
const PG_INSTRUMENTATION = path.join('@opentelemetry', 'instrumentation-pg');

/** Every instrumentation-pg installed under `dir` (its node_modules and the nested ones), as path → version. */
function installedCopies(dir: string, found = new Map<string, semver.SemVer>(), depth = 0): Map<string, semver.SemVer> {
  const modules = path.join(dir, 'node_modules');
  if (depth > 4 || !fs.existsSync(modules)) return found;
  const manifest = path.join(modules, PG_INSTRUMENTATION, 'package.json');
  if (fs.existsSync(manifest)) {
    const v = semver.parse((JSON.parse(fs.readFileSync(manifest, 'utf8')) as { version?: string }).version);
    if (v) found.set(path.relative(MATRIX, path.dirname(manifest)), v);
  }
  for (const e of fs.readdirSync(modules, { withFileTypes: true })) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    const packages = e.name.startsWith('@')
      ? fs.readdirSync(path.join(modules, e.name)).map((n) => path.join(modules, e.name, n))
      : [path.join(modules, e.name)];
    for (const p of packages) installedCopies(p, found, depth + 1);
  }
  return found;
}

function matrixCopies(): Map<string, semver.SemVer> {
  const copies = new Map<string, semver.SemVer>();
  for (const e of fs.readdirSync(MATRIX, { withFileTypes: true })) {
    if (!e.isDirectory() || !fs.existsSync(path.join(MATRIX, e.name, 'package.json'))) continue;
    if (!fs.existsSync(path.join(MATRIX, e.name, 'node_modules'))) throw new Error(`matrix/${e.name} is not installed: run bash scripts/setup.sh`);
    for (const [where, v] of installedCopies(path.join(MATRIX, e.name))) copies.set(where, v);
  }
  return copies;
}

const minor = (v: semver.SemVer) => `${v.major}.${v.minor}`;

test(`TESTED_RANGE (${TESTED_RANGE}) is the instrumentation-pg minors the matrix runs, up to the registry's newest`, () => {
  const copies = matrixCopies();
  expect(copies.size).toBeGreaterThan(0);
  const tested = new Set([...copies.values()].map(minor));
  // every minor from the range's lowest up to its end has a copy
  const low = semver.minVersion(TESTED_RANGE)!;
  const admitted: string[] = [];
  for (let m = low.minor; semver.satisfies(`${low.major}.${m}.0`, TESTED_RANGE); m++) admitted.push(`${low.major}.${m}`);
  expect(admitted.filter((m) => !tested.has(m))).toEqual([]);
  const [where, newest] = [...copies.entries()].sort((a, b) => semver.compare(a[1], b[1])).at(-1)!;
  if (!semver.satisfies(newest, TESTED_RANGE)) {
    throw new Error(
      `matrix/${where} has instrumentation-pg ${newest.version}, newer than the private fallback's TESTED_RANGE (${TESTED_RANGE}): ` +
        `until it is checked, apps that cannot pass pgferretRequestHook() get a warning and no pg.query parent. ` +
        `Compare its handleConfigQuery and module layout with the newest tested (src/trace/pg-span-fallback.ts), ` +
        `then pin it in matrix/latest/ and widen TESTED_RANGE to end right after it`,
    );
  }
  // the range ends right after the newest copy
  expect(semver.satisfies(`${newest.major}.${newest.minor + 1}.0`, TESTED_RANGE)).toBe(false);
});
