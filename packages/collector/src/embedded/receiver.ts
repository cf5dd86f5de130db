// OTLP/HTTP trace receiver (https://opentelemetry.io/docs/specs/otlp/#otlphttp):
// POST /v1/traces with a protobuf or JSON ExportTraceServiceRequest, optionally
// gzip-compressed. Every batch is committed to the store before the 200.
// Open to local applications (that is its job), optionally behind a bearer
// token; it only writes, nothing can be read through it.
import http from 'node:http';
import zlib from 'node:zlib';
import {
  type DecodeResult,
  OtlpDecodeError,
  ResponseType,
  StatusType,
  decodeJsonRequest,
  decodeProtobufRequest,
} from './otlp-decode';
import { refuseBrowserRequest } from './browser-guard';
import type { ByteBudget } from './byte-budget';
import type { GroupCommitter } from './group-commit';
import { bearer, sameToken } from './ui-auth';

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Bytes of all requests being read, decoded and stored at once. */
export const DEFAULT_MAX_INFLIGHT_BYTES = 64 * 1024 * 1024;
/** Seconds an exporter is asked to wait when the receiver is full. */
export const RETRY_AFTER_SECONDS = 1;
export const TRACES_PATH = '/v1/traces';

type Encoding = 'protobuf' | 'json';

export interface ReceiverCounters {
  requests: number;
  spansAccepted: number;
  spansDuplicate: number;
  spansRejected: number;
  requestsRejected: number;
  /** Requests turned away with 503 because the in-flight byte limit was reached. */
  requestsThrottled: number;
}

// google.rpc.Code values used in error bodies.
const RPC_INVALID_ARGUMENT = 3;
const RPC_RESOURCE_EXHAUSTED = 8;
const RPC_UNAVAILABLE = 14;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The client went away mid-body: nothing to answer. */
class ClientGone extends Error {}

/** The in-flight byte limit is reached: 503 with Retry-After, as the OTLP spec asks for throttling. */
class Busy extends HttpError {
  constructor(budget: ByteBudget) {
    super(503, `the receiver holds ${budget.limit} bytes of requests already; retry after ${RETRY_AFTER_SECONDS} s (Retry-After)`);
  }
}

/** Bytes reserved for one request, given back when its response is done. */
class Reservation {
  private held = 0;

  constructor(private readonly budget: ByteBudget) {}

  take(n: number): void {
    if (!this.budget.take(n)) throw new Busy(this.budget);
    this.held += n;
  }

  release(): void {
    this.budget.give(this.held);
    this.held = 0;
  }
}

function mediaType(req: http.IncomingMessage): Encoding | null {
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/x-protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return null;
}

function readBody(req: http.IncomingMessage, max: number, reservation: Reservation): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > max) {
      reject(tooLarge(max));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (err: Error) => {
      failed = true;
      chunks.length = 0;
      reject(err);
    };
    try {
      if (declared > 0) reservation.take(declared);
    } catch (err) {
      fail(err as Error);
      return;
    }
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) return fail(tooLarge(max));
      try {
        if (!(declared > 0) || size > declared) reservation.take(chunk.length);
      } catch (err) {
        return fail(err as Error);
      }
      chunks.push(chunk);
    });
    req.on('end', () => failed || resolve(Buffer.concat(chunks, size)));
    req.on('error', (err) => failed || fail(new ClientGone(err.message)));
  });
}

function tooLarge(max: number): HttpError {
  return new HttpError(
    413,
    `request body larger than the receiver's limit of ${max} bytes: send smaller batches from the app ` +
      '(OTEL_BSP_MAX_EXPORT_BATCH_SIZE, or maxExportBatchSize of its BatchSpanProcessor; default 512 spans)',
  );
}

function decompress(body: Buffer, req: http.IncomingMessage, max: number): Buffer {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding === 'identity' || encoding === '') return body;
  if (encoding !== 'gzip') {
    throw new HttpError(415, `unsupported Content-Encoding "${encoding}": send gzip or uncompressed bodies`);
  }
  try {
    return zlib.gunzipSync(body, { maxOutputLength: max });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(max);
    throw new HttpError(400, `Content-Encoding is gzip but the body does not gunzip: ${(err as Error).message}`);
  }
}

function send(res: http.ServerResponse, status: number, type: string, body: Uint8Array | string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function sendError(res: http.ServerResponse, encoding: Encoding | null, status: number, message: string): void {
  const code = status === 413 ? RPC_RESOURCE_EXHAUSTED : status >= 500 ? RPC_UNAVAILABLE : RPC_INVALID_ARGUMENT;
  // the unread rest of the body is not worth reading: the connection goes
  if (status === 413 || status === 503) res.setHeader('Connection', 'close');
  if (status === 503) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  if (encoding === 'protobuf') {
    send(res, status, 'application/x-protobuf', StatusType.encode({ code, message }).finish());
  } else {
    send(res, status, 'application/json', JSON.stringify({ code, message }));
  }
}

function sendSuccess(res: http.ServerResponse, encoding: Encoding, decoded: DecodeResult): void {
  const partialSuccess =
    decoded.rejected > 0 ? { rejectedSpans: decoded.rejected, errorMessage: decoded.rejectReason ?? '' } : undefined;
  if (encoding === 'protobuf') {
    send(res, 200, 'application/x-protobuf', ResponseType.encode(partialSuccess ? { partialSuccess } : {}).finish());
  } else {
    send(res, 200, 'application/json', JSON.stringify(partialSuccess ? { partialSuccess } : {}));
  }
}

export interface OtlpHandlerOptions {
  maxBodyBytes: number;
  /** Shared by all requests: see ByteBudget. */
  budget: ByteBudget;
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  /** Listening on loopback: only loopback Host headers (no DNS rebinding). */
  loopbackOnly: boolean;
  log: (msg: string) => void;
}

/** Refuses a request that is no OTLP traces export this receiver takes (answered, body drained); else its encoding. */
function admit(req: http.IncomingMessage, res: http.ServerResponse, opts: OtlpHandlerOptions, counters: ReceiverCounters): Encoding | null {
  const pathname = (req.url ?? '/').split('?')[0];
  const refuse = (send: () => void, rejected: boolean) => {
    if (rejected) counters.requestsRejected++;
    send();
    req.resume();
    return null;
  };
  const refused = refuseBrowserRequest(req, { loopbackOnly: opts.loopbackOnly, sameOrigin: false });
  if (refused) return refuse(() => send(res, 403, 'text/plain', `forbidden: ${refused}\n`), false);
  if (pathname !== TRACES_PATH) {
    return refuse(() => send(res, 404, 'text/plain', `not found: this receiver accepts OTLP traces at POST ${TRACES_PATH}\n`), false);
  }
  if (req.method !== 'POST') {
    res.setHeader('Allow', 'POST');
    return refuse(() => send(res, 405, 'text/plain', `method ${req.method} not allowed: send OTLP traces with POST ${TRACES_PATH}\n`), false);
  }
  counters.requests++;
  const encoding = mediaType(req);
  if (opts.token !== undefined && !sameToken(bearer(req), opts.token)) {
    return refuse(() => sendError(
      res,
      encoding,
      401,
      'this receiver requires a token: give the exporter the header "Authorization: Bearer <token>" ' +
        '(OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20<token>) with the token of the collector\'s --otlp-token-file',
    ), true);
  }
  if (!encoding) {
    return refuse(() => sendError(
      res,
      null,
      415,
      `unsupported Content-Type "${req.headers['content-type'] ?? ''}": ` +
        'send application/x-protobuf or application/json (OTLP/HTTP)',
    ), true);
  }
  return encoding;
}

/** The request's spans, decompressed (counted against the byte budget) and decoded. */
function decodeBody(raw: Buffer, req: http.IncomingMessage, encoding: Encoding, maxBodyBytes: number, reservation: Reservation): DecodeResult {
  const body = decompress(raw, req, maxBodyBytes);
  if (body !== raw) reservation.take(body.length);
  try {
    return encoding === 'protobuf' ? decodeProtobufRequest(body) : decodeJsonRequest(body);
  } catch (err) {
    if (err instanceof OtlpDecodeError) throw new HttpError(400, `malformed OTLP ${encoding} request: ${err.message}`);
    throw err;
  }
}

/** Answers a request that failed after it was admitted. */
function answerFailure(err: unknown, req: http.IncomingMessage, res: http.ServerResponse, encoding: Encoding, opts: OtlpHandlerOptions, counters: ReceiverCounters): void {
  counters.requestsRejected++;
  if (err instanceof ClientGone) {
    res.destroy();
    return;
  }
  if (!(err instanceof HttpError)) {
    opts.log(`error: an OTLP request failed unexpectedly: ${(err as Error).message}`);
    err = new HttpError(500, `the receiver failed on this request: ${(err as Error).message}`);
  }
  const e = err as HttpError;
  if (e instanceof Busy) counters.requestsThrottled++;
  sendError(res, encoding, e.status, e.message);
  if (e.status === 413 || e.status === 503) req.resume();
}

export function createOtlpHandler(committer: GroupCommitter, opts: OtlpHandlerOptions, counters: ReceiverCounters): http.RequestListener {
  return (req, res) => {
    const encoding = admit(req, res, opts, counters);
    if (!encoding) return;
    const reservation = new Reservation(opts.budget);
    res.once('close', () => reservation.release());
    readBody(req, opts.maxBodyBytes, reservation)
      .then((raw) => {
        const decoded = decodeBody(raw, req, encoding, opts.maxBodyBytes, reservation);
        return committer.submit(decoded.spans).then(
          (result) => {
            counters.spansAccepted += result.accepted;
            counters.spansDuplicate += result.duplicates;
            counters.spansRejected += decoded.rejected;
            sendSuccess(res, encoding, decoded);
          },
          (err: unknown) => {
            opts.log(`error: could not store ${decoded.spans.length} spans: ${(err as Error).message}`);
            throw new HttpError(
              503,
              `the collector could not store the spans (${(err as Error).message}); the exporter may retry`,
            );
          },
        );
      })
      .catch((err: unknown) => answerFailure(err, req, res, encoding, opts, counters));
  };
}
