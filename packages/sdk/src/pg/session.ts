// The session's standard_conforming_strings, as the server reports it: a
// ParameterStatus message at connect and after every change, which pg's
// Connection emits as a 'parameterStatus' event (pg 8.0.3 … 8.23: msg.
// parameterName / msg.parameterValue). pg keeps no copy, so the SDK listens
// from connect() on. The value is only trusted for a query with nothing
// ahead of it on the client: a query still queued or in flight (a SET, a
// function, a ROLLBACK) may change the setting before this one runs.
const SCS = Symbol('pgferret.standardConformingStrings');
const LISTENING = Symbol('pgferret.listening');

interface ParameterStatus {
  parameterName?: unknown;
  parameterValue?: unknown;
}

export interface SessionClient {
  connection?: { on?: (event: string, listener: (msg: ParameterStatus) => void) => unknown };
  readyForQuery?: unknown;
  _queryQueue?: unknown;
  queryQueue?: unknown; // pg < 8.12
  _sentQueryQueue?: unknown; // pipeline mode
  _activeQuery?: unknown;
  [SCS]?: boolean;
  [LISTENING]?: true;
}

/** Starts following the client's ParameterStatus messages (once per client). */
export function followSession(client: SessionClient): void {
  if (client[LISTENING]) return;
  const con = client.connection;
  if (!con || typeof con.on !== 'function') return;
  client[LISTENING] = true;
  con.on('parameterStatus', (msg: ParameterStatus) => {
    if (msg && msg.parameterName === 'standard_conforming_strings') client[SCS] = msg.parameterValue === 'on';
  });
}

function length(q: unknown): number {
  return Array.isArray(q) ? q.length : 0;
}

/**
 * The setting the last queued query will run with, or undefined when not
 * known: never reported (connected before the SDK), or something is ahead of it.
 */
export function sessionStandardConformingStrings(client: SessionClient): boolean | undefined {
  const scs = client[SCS];
  if (scs === undefined) return undefined;
  if (client.readyForQuery !== true || client._activeQuery) return undefined;
  if (length(client._queryQueue ?? client.queryQueue) !== 1 || length(client._sentQueryQueue) > 0) return undefined;
  return scs;
}
