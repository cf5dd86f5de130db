// An app trace with pg client spans and no PostgreSQL spans: say what may be
// the cause, most specific first, from the client spans and the collector's state.
import { h } from './dom.js';
import { fetchCollectorState } from './collector-state.js';
import { A } from './attributes.js';

function serverPorts(clientSpans) {
  const ports = new Set();
  for (const s of clientSpans) {
    const port = s.attributes['server.port'] ?? s.attributes['net.peer.port'];
    if (port !== undefined) ports.add(Number(port));
  }
  return [...ports];
}

function carriesTraceparent(s) {
  const text = s.attributes[A.dbQueryText] ?? s.attributes['db.statement'];
  return typeof text === 'string' && text.includes('traceparent=');
}

export function reasons(clientSpans, state) {
  const out = [];
  if (!state) out.push('The collector state could not be read (see the header).');
  else if (!state.running) {
    out.push('No eBPF collector runs with this UI: start pgferret-collector (as root) on the host of the PostgreSQL server.');
  } else {
    const attached = state.clusters.filter((c) => !c.error);
    const ports = serverPorts(clientSpans);
    if (attached.length === 0) {
      out.push('The collector is attached to no PostgreSQL cluster: none was found, or --port / --pid / --data-dir matched none.');
    } else if (ports.length > 0 && !ports.some((p) => attached.some((c) => c.port === p))) {
      out.push(
        `The app talks to port ${ports.join(', ')}; the collector is attached to port ${attached.map((c) => c.port ?? '?').join(', ')}. ` +
          'A server on another host or in a container the collector cannot see gives no PostgreSQL spans.',
      );
    }
    if (!state.enabled) out.push('Tracing is paused on the collector (POST /control on its admin API turns it back on).');
  }
  // The SDK adds its comment after instrumentation-pg recorded the text, so
  // a comment in the text proves the SDK is there but its absence proves nothing.
  if (!clientSpans.some(carriesTraceparent)) {
    out.push(
      "@pgferret/sdk may not be loaded in the app (require('@pgferret/sdk').instrument()): without its traceparent comment a statement cannot join this trace, and the collector's spans of it show up as separate traces of service postgresql.",
    );
  }
  out.push(
    'The statements may not have been sampled (the traceparent flags say not sampled) or were dropped: the collector header counts drops. PostgreSQL spans also arrive a second or two after the request: reload to check.',
  );
  return out;
}

export async function missingPostgresCard(clientSpans) {
  const state = await fetchCollectorState().catch(() => null);
  return h(
    'div',
    { class: 'insight-card missing-card', id: 'missing-postgres' },
    h('span', { class: 'label' }, 'No PostgreSQL spans'),
    h('span', null, `${clientSpans.length} pg client span${clientSpans.length === 1 ? '' : 's'} and nothing from inside PostgreSQL. Why it may be:`),
    h('ul', { class: 'reasons' }, reasons(clientSpans, state).map((r) => h('li', null, r))),
  );
}
