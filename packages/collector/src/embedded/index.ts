// Embedded mode: the collector as its own trace backend. One call starts the
// OTLP/HTTP receiver, the on-disk store and the web UI.
import http from 'node:http';
import path from 'node:path';
import { prepareStateDir, UI_TOKEN_FILE, writePrivateFile } from '../io/state-dir';
import { ByteBudget } from './byte-budget';
import { StoreSpanExporter } from './exporter';
import { GroupCommitter } from './group-commit';
import { checkHost, closeServer, formatUrl, isLoopbackHost, listen, type ListenTarget } from '../io/listen';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_INFLIGHT_BYTES, type ReceiverCounters, createOtlpHandler } from './receiver';
import { type StoreStats, TraceStore } from './store';
import { newToken, TOKEN_PARAM } from './ui-auth';
import { type CollectorStatusSource, createUiHandler } from './ui-server';

export { StoreSpanExporter } from './exporter';
export { TraceStore, DEFAULT_MAX_BYTES, DEFAULT_MAX_SPANS } from './store';
export type { StoreStats, TraceDetail, TraceList, TraceListQuery, TraceSummary, StoredSpan } from './store';
export { isPostgresServerSpan } from './span-record';

export const DEFAULT_OTLP_PORT = 4318;
export const DEFAULT_UI_PORT = 4320;
export const DEFAULT_HOST = '127.0.0.1';

export interface EmbeddedOptions {
  /** The state directory: the trace database and the UI token live here (created 0700 if missing). */
  dataDir: string;
  otlpHost?: string;
  otlpPort?: number;
  uiHost?: string;
  uiPort?: number;
  maxSpans?: number;
  maxBytes?: number;
  /** Largest accepted OTLP request body, after gunzip. */
  maxBodyBytes?: number;
  /** Bytes of OTLP requests held at once; more get 503 + Retry-After. */
  maxInflightBytes?: number;
  /** When set, OTLP requests must carry `Authorization: Bearer <otlpToken>`. */
  otlpToken?: string;
  /** Needed to listen on anything but loopback; a warning is logged when used. */
  allowNonLoopback?: boolean;
  log?: (msg: string) => void;
}

export interface EmbeddedStats {
  otlp: ReceiverCounters;
  store: StoreStats;
}

export interface Embedded {
  store: TraceStore;
  exporter: StoreSpanExporter;
  /** Base URL of the OTLP receiver; traces go to `${otlpUrl}/v1/traces`. */
  otlpUrl: string;
  /** Base URL of the UI; it answers only requests that carry uiToken. */
  uiUrl: string;
  /** This start's token for the UI (also in <dataDir>/ui-token, 0600). */
  uiToken: string;
  /** The URL to open in a browser: logs in and drops the token from the address bar. */
  uiLoginUrl: string;
  stats(): EmbeddedStats;
  /** Lets the UI show the collector's state (attached clusters, drops). */
  setCollectorStatus(source: CollectorStatusSource): void;
  close(): Promise<void>;
}

/** Where the receiver and the UI listen, checked before anything is created. */
function listenTargets(opts: EmbeddedOptions, log: (msg: string) => void): { otlp: ListenTarget; ui: ListenTarget } {
  const allowNonLoopback = opts.allowNonLoopback ?? false;
  const otlp = {
    what: 'OTLP receiver',
    host: opts.otlpHost ?? DEFAULT_HOST,
    port: opts.otlpPort ?? DEFAULT_OTLP_PORT,
    hostOption: '--otlp-host',
    portOption: '--otlp-port',
    allowNonLoopback,
    log,
  };
  const ui = {
    what: 'web UI',
    host: opts.uiHost ?? DEFAULT_HOST,
    port: opts.uiPort ?? DEFAULT_UI_PORT,
    hostOption: '--ui-host',
    portOption: '--ui-port',
    allowNonLoopback,
    log,
  };
  checkHost(otlp);
  checkHost(ui);
  return { otlp, ui };
}

/** The OTLP receiver's server: requests decoded and group-committed into the store. */
function otlpServerFor(committer: GroupCommitter, opts: EmbeddedOptions, target: ListenTarget, counters: ReceiverCounters, log: (msg: string) => void): http.Server {
  return http.createServer(
    createOtlpHandler(
      committer,
      {
        maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        budget: new ByteBudget(opts.maxInflightBytes ?? DEFAULT_MAX_INFLIGHT_BYTES),
        token: opts.otlpToken,
        loopbackOnly: isLoopbackHost(target.host),
        log,
      },
      counters,
    ),
  );
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<Embedded> {
  const log = opts.log ?? ((msg: string) => console.error(msg));
  const { otlp, ui } = listenTargets(opts, log);
  const dataDir = prepareStateDir(opts.dataDir, log);
  const uiToken = newToken();
  writePrivateFile(path.join(dataDir, UI_TOKEN_FILE), uiToken + '\n');
  const store = TraceStore.open({ dataDir, maxSpans: opts.maxSpans, maxBytes: opts.maxBytes });
  const exporter = new StoreSpanExporter(store);
  const counters: ReceiverCounters = { requests: 0, spansAccepted: 0, spansDuplicate: 0, spansRejected: 0, requestsRejected: 0, requestsThrottled: 0 };
  const committer = new GroupCommitter(store);
  const otlpServer = otlpServerFor(committer, opts, otlp, counters, log);
  let collectorStatus: CollectorStatusSource | undefined;
  const uiServer = http.createServer(
    createUiHandler(store, { loopbackOnly: isLoopbackHost(ui.host), token: uiToken, collectorStatus: () => collectorStatus?.() ?? null }),
  );

  let otlpPort: number;
  let uiPort: number;
  try {
    otlpPort = await listen(otlpServer, otlp);
    uiPort = await listen(uiServer, ui);
  } catch (err) {
    await closeServer(otlpServer);
    store.close();
    throw err;
  }

  let closed: Promise<void> | null = null;
  return {
    store,
    exporter,
    otlpUrl: formatUrl(otlp.host, otlpPort),
    uiUrl: formatUrl(ui.host, uiPort),
    uiToken,
    uiLoginUrl: `${formatUrl(ui.host, uiPort)}/?${TOKEN_PARAM}=${uiToken}`,
    stats: () => ({ otlp: { ...counters }, store: store.stats() }),
    setCollectorStatus(source) {
      collectorStatus = source;
    },
    close() {
      closed ??= (async () => {
        await exporter.shutdown();
        await Promise.all([closeServer(otlpServer), closeServer(uiServer)]);
        committer.flush();
        store.close();
      })();
      return closed;
    },
  };
}
