// One diag.warn per kind of problem: the query path runs thousands of times a
// second, and a warning per query would flood the application's log.
import { diag } from '@opentelemetry/api';

const warned = new Set<string>();

/** Logs `message` (and the error's message, when given) through diag.warn the first time `key` is seen. */
export function warnOnce(key: string, message: string, err?: unknown): void {
  if (warned.has(key)) return;
  warned.add(key);
  const detail = err === undefined ? '' : `: ${err instanceof Error ? err.message : String(err)}`;
  diag.warn(`@pgferret/sdk: ${message}${detail}`);
}
