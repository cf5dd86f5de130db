// Binding the collector's servers (OTLP receiver, web UI, /metrics): loopback unless the user explicitly asks
// otherwise, and errors that say which option to change.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

export interface ListenTarget {
  /** What is listening, for messages: "OTLP receiver", "web UI". */
  what: string;
  host: string;
  port: number;
  /** The option that sets the port, for messages. */
  portOption: string;
  /** The option that sets the host, for messages. */
  hostOption: string;
  allowNonLoopback: boolean;
  log: (msg: string) => void;
}

export function checkHost(t: ListenTarget): void {
  if (isLoopbackHost(t.host)) return;
  if (!t.allowNonLoopback) {
    throw new Error(
      `refusing to expose the ${t.what} on ${t.host}: trace data (SQL text, attributes) would be reachable ` +
        `from other machines. Use a loopback address for ${t.hostOption}, or set allowNonLoopback ` +
        '(--allow-non-loopback) if that is what you want.',
    );
  }
  t.log(
    `warning: the ${t.what} listens on ${t.host}, not only on loopback: anyone who can reach this ` +
      'address can read or send traces. Put it behind a firewall or an authenticating proxy.',
  );
}

/** Resolves with the port actually bound (port 0 picks a free one). */
export function listen(server: Server, t: ListenTarget): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(
          new Error(
            `the ${t.what} cannot listen on ${t.host}:${t.port}: the port is already in use ` +
              `(another pgferret-collector or OpenTelemetry Collector?). Stop it or choose another port with ${t.portOption}.`,
          ),
        );
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
        reject(new Error(`the ${t.what} cannot listen on ${t.host}: no such local address (${err.code}). Check ${t.hostOption}.`));
      } else {
        reject(new Error(`the ${t.what} cannot listen on ${t.host}:${t.port}: ${err.message}`));
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(t.port, t.host);
  });
}

export function formatUrl(host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

/** Stops accepting, drops idle keep-alive connections, waits for the rest. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 2000).unref();
  });
}
