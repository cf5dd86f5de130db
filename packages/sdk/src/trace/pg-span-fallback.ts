// Private fallback for setups that cannot pass a requestHook, such as
// `node --require @opentelemetry/auto-instrumentations-node/register`:
// instrumentation-pg gets its span from `handleConfigQuery` on its internal
// utils module, looked up at call time, so wrapping that export sees every
// span it creates. Internal, so only used for versions whose layout the
// test matrix checks (TESTED_RANGE); other versions are left alone, and the
// query hook warns once when a query's span could not be captured. Only
// CommonJS copies in require.cache can be found.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as semver from 'semver';
import type { Span } from '@opentelemetry/api';
import { addReporter, recordPgSpan } from './pg-span';
import { isOurs, wrapMethod } from '../patch';

export const TESTED_RANGE = '>=0.76.0 <0.79.0';
const PACKAGE_DIR = path.join('@opentelemetry', 'instrumentation-pg') + path.sep;
// 0.76 ships tsc output, 0.77 and 0.78 a bundle with the same module split
const UTILS_FILES = [path.join('build', 'src', 'utils.js'), path.join('dist', 'utils.cjs')];

type HandleConfigQuery = (this: object, tracer: unknown, config: unknown, queryConfig?: { text?: unknown }) => Span;

function packageVersion(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined; // unknown version: not hooked (see the query hook's warning)
  }
}

function hook(utils: { handleConfigQuery?: HandleConfigQuery }): void {
  if (typeof utils.handleConfigQuery !== 'function') return;
  wrapMethod(utils, 'handleConfigQuery', (original, self, args) => {
    const span = original.apply(self, args) as Span;
    recordPgSpan(span, (args[2] as { text?: unknown } | undefined)?.text);
    return span;
  });
  addReporter();
}

/** Hooks every tested copy of instrumentation-pg in require.cache (cheap to call again). */
export function hookLoadedPgInstrumentations(): void {
  const cache = require.cache ?? {};
  for (const file of Object.keys(cache)) {
    const at = file.lastIndexOf(PACKAGE_DIR);
    if (at < 0) continue;
    const dir = file.slice(0, at + PACKAGE_DIR.length);
    if (!UTILS_FILES.includes(file.slice(dir.length))) continue;
    const utils = cache[file]?.exports as { handleConfigQuery?: HandleConfigQuery } | undefined;
    if (utils === undefined || isOurs(utils.handleConfigQuery)) continue;
    const version = packageVersion(dir);
    if (version !== undefined && semver.satisfies(version, TESTED_RANGE)) hook(utils);
  }
}
