// Request-scoped tags (route, controller, action, framework) and the per-query
// opt-out travel in one AsyncLocalStorage, read synchronously when the app
// calls query(), so they follow the async path of the request that sent it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Tags } from '../comment/format';

export interface TagScope {
  readonly parent: TagScope | undefined;
  /** tags set here (a function is evaluated when a query is sent, e.g. the Express route) */
  readonly tags: Readonly<Record<string, string | undefined | (() => string | undefined)>>;
  /** true inside withoutComment() */
  readonly skip: boolean;
}

const storage = new AsyncLocalStorage<TagScope>();

export function currentScope(): TagScope | undefined {
  return storage.getStore();
}

export function runInScope<T>(scope: TagScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/** Runs fn with extra sqlcommenter tags on every query it sends (inner scopes win). */
export function withTags<T>(tags: Tags, fn: () => T): T {
  const own: Record<string, string | undefined> = {};
  for (const key of Object.keys(tags)) {
    const v = tags[key];
    own[key] = v === null || v === undefined ? undefined : String(v);
  }
  const parent = storage.getStore();
  return storage.run({ parent, tags: own, skip: parent?.skip ?? false }, fn);
}

/** Runs fn with no comment at all added to the queries it sends. */
export function withoutComment<T>(fn: () => T): T {
  const parent = storage.getStore();
  return storage.run({ parent, tags: {}, skip: true }, fn);
}

/** Collects the scope chain's tags into `into`; the innermost value of a key wins. */
export function collectScopeTags(scope: TagScope | undefined, into: Record<string, string | undefined>): void {
  for (let s = scope; s !== undefined; s = s.parent) {
    for (const key of Object.keys(s.tags)) {
      if (key in into) continue;
      const v = s.tags[key];
      into[key] = typeof v === 'function' ? v() : v;
    }
  }
}
