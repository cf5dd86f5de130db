// Options shared by instrument() and PgFerretInstrumentation, resolved once
// into what the per-query path needs (static pairs already serialized).
import { serializePair } from './comment/format';
import type { TraceparentMode } from './trace/traceparent';
import type { PgInstrumentationLike } from './trace/pg-span';

export interface PgFerretOptions {
  /**
   * When a query gets a traceparent: 'sampled' (default) only for a sampled
   * span, 'always' for unsampled ones too (flags 00), 'never'.
   */
  traceparent?: TraceparentMode;
  /** Also send the span's W3C tracestate (default false). */
  tracestate?: boolean;
  /** `application` tag (default: OTEL_SERVICE_NAME when set). */
  application?: string;
  /**
   * Send tags other than the trace context: route, controller, action,
   * framework (pgferretExpress, withTags), application and db_driver.
   * Default true; false sends the trace context only.
   */
  tags?: boolean;
  /**
   * instrument() and PgFerretInstrumentation: the app's PgInstrumentation
   * (@opentelemetry/instrumentation-pg). The SDK adds its requestHook to it
   * (composed with yours) so traceparents name its pg.query span.
   */
  pgInstrumentation?: PgInstrumentationLike;
}

const MODES: readonly TraceparentMode[] = ['sampled', 'always', 'never'];

export interface Settings {
  mode: TraceparentMode;
  tracestate: boolean;
  tags: boolean;
  /** serialized `application='…'`, when there is one */
  applicationPair: string | undefined;
}

export function resolveOptions(options: PgFerretOptions = {}): Settings {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`@pgferret/sdk: options must be an object, got ${String(options)}; pass e.g. instrument({ traceparent: 'sampled' })`);
  }
  const mode = options.traceparent ?? 'sampled';
  if (!MODES.includes(mode)) {
    throw new TypeError(`@pgferret/sdk: traceparent must be one of ${MODES.join(', ')}, got ${JSON.stringify(mode)}; fix the traceparent option`);
  }
  const application = options.application ?? process.env.OTEL_SERVICE_NAME;
  return {
    mode,
    tracestate: options.tracestate === true,
    tags: options.tags !== false,
    applicationPair: application ? serializePair('application', application) : undefined,
  };
}
