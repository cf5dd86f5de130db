// Applies both patches to one loaded `pg` module: the queue hook on Client
// (comments) and the context binding on Pool (right context per query).
import { patchClient, unpatchClient, type PgClientClass } from './queue-hook';
import { patchPool, unpatchPool, type PgPoolClass } from './pool-context';

export interface PgModule {
  Client?: PgClientClass;
  Pool?: PgPoolClass;
}

const modules = new Set<PgModule>();

export function patchPgModule(pg: PgModule, version: string | undefined): void {
  if (!pg.Client) throw new Error("@pgferret/sdk: the loaded 'pg' module has no Client export; use pg 8");
  patchClient(pg.Client, version);
  if (pg.Pool) patchPool(pg.Pool);
  modules.add(pg);
}

export function unpatchPgModule(pg: PgModule): void {
  if (pg.Client) unpatchClient(pg.Client);
  if (pg.Pool) unpatchPool(pg.Pool);
  modules.delete(pg);
}

export function unpatchAllModules(): void {
  for (const pg of [...modules]) unpatchPgModule(pg);
}
