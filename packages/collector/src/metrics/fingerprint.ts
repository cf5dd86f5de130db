// A statement's fingerprint for /metrics and diagnose: @pgferret/sql's
// statementFingerprint of the masked text, the id the span store's top
// queries and the UI show too. The masked text itself is a label only on the
// info metric.
import { normalizeStatement, statementFingerprint } from '@pgferret/sql';

/** `IN (?, ?, ?)` becomes `IN ($1 /*, ... *\/)`: one shape, one fingerprint. */
export function normalizeMasked(masked: string): string {
  return normalizeStatement(masked).text;
}

/** 16 hex digits (64 bits) of the SHA-1 of the statement's canonical form. */
export function fingerprintOf(masked: string): string {
  return statementFingerprint(masked).id;
}
