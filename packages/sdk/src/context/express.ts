// Express middleware: every query sent while handling a request carries
// route, controller, action and framework tags. The route is only known once
// Express has matched it (after app-level middleware ran), so it is read when
// the query is sent, not when the request arrives.
import { currentScope, runInScope } from './tags';

/** The parts of an Express request this middleware reads (no dependency on express types). */
export interface ExpressLikeRequest {
  baseUrl?: string;
  route?: { path?: unknown; stack?: ReadonlyArray<{ name?: string; handle?: { name?: string } }> };
}

export interface PgferretExpressOptions {
  /** `framework` tag; default 'express' */
  framework?: string;
  /** `controller` tag; default: none (set it here or with withTags in a handler) */
  controller?: (req: ExpressLikeRequest) => string | undefined;
  /** `action` tag; default: the name of the matched route's last handler, when it has one */
  action?: (req: ExpressLikeRequest) => string | undefined;
}

/** `baseUrl` + the matched route pattern, e.g. `/api/users/:id`. */
export function expressRoute(req: ExpressLikeRequest): string | undefined {
  const path = req.route?.path;
  if (typeof path !== 'string') return undefined;
  return `${req.baseUrl ?? ''}${path}`;
}

function handlerName(req: ExpressLikeRequest): string | undefined {
  const stack = req.route?.stack;
  if (!stack || stack.length === 0) return undefined;
  const last = stack[stack.length - 1];
  const name = last.handle?.name || last.name;
  // Express names anonymous layers '<anonymous>'; arrow functions have ''
  return name && name !== '<anonymous>' && name !== 'anonymous' ? name : undefined;
}

type Next = (err?: unknown) => void;

export function pgferretExpress(options: PgferretExpressOptions = {}) {
  const framework = options.framework ?? 'express';
  const controller = options.controller;
  const action = options.action ?? handlerName;
  return function pgferretMiddleware(req: ExpressLikeRequest, _res: unknown, next: Next): void {
    const tags: Record<string, string | undefined | (() => string | undefined)> = {
      framework,
      route: () => expressRoute(req),
      action: () => action(req),
    };
    if (controller) tags.controller = () => controller(req);
    const parent = currentScope();
    runInScope({ parent, tags, skip: parent?.skip ?? false }, () => next());
  };
}
