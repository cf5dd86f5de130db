// What one instrument() or PgFerretInstrumentation patches, with its settings:
// the query hook on Client (comments) and the context binding on Pool (right
// context per query), for each loaded `pg` module it was given.
import { patchClient, unpatchClient, type PgClientClass, type SettingsOwner } from './query-hook';
import { patchPool, type PgPoolClass } from './pool-context';
import { resolveOptions, type Settings } from '../options';
import type { Wrapped } from '../patch';

export interface PgModule {
  Client?: PgClientClass;
  Pool?: PgPoolClass;
}

const live = new Set<PgPatcher>();

export class PgPatcher implements SettingsOwner {
  settings: Settings = resolveOptions();
  private readonly clients = new Set<PgClientClass>();
  private readonly pools = new Map<PgPoolClass, Wrapped>();

  patchClient(Client: PgClientClass, version: string | undefined): void {
    patchClient(Client, version, this);
    this.clients.add(Client);
    live.add(this);
  }

  patchModule(pg: PgModule, version: string | undefined): void {
    if (!pg.Client) throw new Error("@pgferret/sdk: the loaded 'pg' module has no Client export; use pg 8");
    this.patchClient(pg.Client, version);
    const pool = pg.Pool && patchPool(pg.Pool);
    if (pg.Pool && pool) this.pools.set(pg.Pool, pool);
  }

  unpatchClient(Client: PgClientClass): void {
    unpatchClient(Client);
    this.clients.delete(Client);
  }

  unpatchModule(pg: PgModule): void {
    if (pg.Client) this.unpatchClient(pg.Client);
    if (pg.Pool) {
      this.pools.get(pg.Pool)?.unwrap();
      this.pools.delete(pg.Pool);
    }
  }

  unpatchAll(): void {
    for (const Client of [...this.clients]) this.unpatchClient(Client);
    for (const [Pool, wrapped] of [...this.pools]) {
      wrapped.unwrap();
      this.pools.delete(Pool);
    }
    live.delete(this);
  }
}

/** uninstrument(): every patch, instrument()'s and PgFerretInstrumentation's. */
export function unpatchEverything(): void {
  for (const patcher of [...live]) patcher.unpatchAll();
}
