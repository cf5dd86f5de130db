// The fingerprint of a statement: its text with literals masked, comments
// (the traceparent among them) removed, whitespace collapsed and value lists
// folded, so `WHERE id IN (1, 2, 3)` and `WHERE id IN (4, 5)` count as one
// query in the top-queries view. Computed once at ingest and stored.
import { createHash } from 'node:crypto';
import { describeSql } from '../spans/sql';

/** Longest text kept for a fingerprint; longer ones are hashed in full and shown cut. */
export const FINGERPRINT_TEXT_MAX = 4096;

// Two or more masked values or parameters in a row: `?, ?, ?` or `$1, $2`.
const VALUE_LIST = /(?:\?|\$\d+)(?:\s*,\s*(?:\?|\$\d+))+/g;
// A multi-row VALUES list: `(…), (…), (…)` after masking.
const ROW_LIST = /(\([^()]*\))(?:\s*,\s*\([^()]*\))+/g;

export interface Fingerprint {
  /** 16 hex digits of the SHA-1 of `text`. */
  id: string;
  text: string;
}

export function normalizeSql(sql: string): string {
  return describeSql(sql, false)
    .map((s) => s.queryText)
    .join('; ')
    .replace(VALUE_LIST, '?, …')
    .replace(ROW_LIST, '$1, …');
}

export function fingerprint(sql: string): Fingerprint {
  const full = normalizeSql(sql);
  const id = createHash('sha1').update(full).digest('hex').slice(0, 16);
  return { id, text: full.length > FINGERPRINT_TEXT_MAX ? full.slice(0, FINGERPRINT_TEXT_MAX) + '…' : full };
}
