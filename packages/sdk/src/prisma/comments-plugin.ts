// A plugin for Prisma 7's `comments` option (PrismaClient({ adapter, comments })).
// Prisma serializes the returned tags itself (encodeURIComponent, which throws
// on lone surrogates, and key order by localeCompare), so values are cleaned
// here and the plugin never throws into Prisma's query path.
import { collectScopeTags, currentScope } from '../context/tags';
import { activeSpan, traceTags, type TraceTags } from '../trace/traceparent';
import { MAX_TAG_LENGTH } from '../comment/format';
import { resolveOptions, type PgFerretOptions } from '../options';
import { warnOnce } from '../diag/warn-once';

/** Structurally Prisma's SqlCommenterContext / SqlCommenterPlugin (@prisma/client/runtime/client). */
export interface PrismaCommenterContext {
  readonly query: unknown;
  readonly sql?: string;
}
export type PrismaCommenterTags = { readonly [key: string]: string | undefined };
export type PrismaCommenterPlugin = (context: PrismaCommenterContext) => PrismaCommenterTags;

function clean(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  return (value.length > MAX_TAG_LENGTH ? value.slice(0, MAX_TAG_LENGTH) : value).toWellFormed();
}

export function prismaTraceComments(options?: PgFerretOptions): PrismaCommenterPlugin {
  const settings = resolveOptions(options);
  const application = options?.application ?? process.env.OTEL_SERVICE_NAME;
  return function pgferretTraceComments(): PrismaCommenterTags {
    try {
      const out: Record<string, string | undefined> = {};
      const scope = currentScope();
      if (scope?.skip) return out;
      if (settings.tags) {
        if (scope !== undefined) collectScopeTags(scope, out);
        if (application && !('application' in out)) out.application = application;
        if (!('db_driver' in out)) out.db_driver = 'prisma';
        for (const key of Object.keys(out)) out[key] = clean(out[key]);
      }
      delete out.traceparent;
      delete out.tracestate;
      const trace: TraceTags = {};
      traceTags(activeSpan(), settings.mode, settings.tracestate, trace);
      if (trace.traceparent) out.traceparent = trace.traceparent;
      if (trace.tracestate) out.tracestate = clean(trace.tracestate);
      return out;
    } catch (err) {
      warnOnce('prisma-plugin', 'a Prisma query was sent without trace tags because building them failed', err);
      return {};
    }
  };
}
