// instrument()/uninstrument(): patch the `pg` this package resolves (the
// application's copy, pg being a peer dependency) right away.
import { PgPatcher, unpatchEverything, type PgModule } from './pg/patch-module';
import { resolveOptions, type PgFerretOptions } from './options';
import { attachRequestHook } from './trace/pg-span';
import { warnOnce } from './diag/warn-once';

function loadPg(): { pg: PgModule; version: string | undefined } {
  let pg: PgModule;
  try {
    pg = require('pg');
  } catch (err) {
    throw new Error(`@pgferret/sdk: cannot load the 'pg' package (${(err as Error).message}); install pg 8 next to @pgferret/sdk (npm install pg)`);
  }
  let version: string | undefined;
  try {
    version = (require('pg/package.json') as { version?: string }).version;
  } catch (err) {
    warnOnce('pg-package', "cannot read pg/package.json, so db_driver carries no version", err);
    version = undefined;
  }
  return { pg, version };
}

/** instrument()'s patch and settings (PgFerretInstrumentation instances keep their own). */
let patcher: PgPatcher | undefined;

/**
 * Makes every query sent through pg (and so pg.Pool, knex, Prisma's
 * adapter-pg) carry a sqlcommenter comment with the current trace context.
 * Calling it again only replaces the options; pg is patched once.
 */
export function instrument(options?: PgFerretOptions): void {
  const settings = resolveOptions(options);
  if (options?.pgInstrumentation !== undefined) attachRequestHook(options.pgInstrumentation);
  const { pg, version } = loadPg();
  patcher ??= new PgPatcher();
  patcher.settings = settings;
  patcher.patchModule(pg, version);
}

/** Undoes instrument() (and PgFerretInstrumentation's patch): queries go out as written. */
export function uninstrument(): void {
  unpatchEverything();
  patcher = undefined;
}
