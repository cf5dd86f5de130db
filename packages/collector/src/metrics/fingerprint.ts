// A statement's fingerprint: the hash of its masked, normalized text, so the
// same query with other literals (or another number of list items) is one
// series. The masked text itself is a label only on the info metric.
import { createHash } from 'node:crypto';

/** `IN (?, ?, ?)` and `VALUES ($1, $2)` become `IN (...)` and `VALUES (...)`: one shape, one fingerprint. */
export function normalizeMasked(masked: string): string {
  return masked.replace(/(?:\?|\$\d+)(?:\s*,\s*(?:\?|\$\d+))+/g, '...');
}

/** 16 hex digits (64 bits) of the SHA-1 of the normalized masked text. */
export function fingerprintOf(masked: string): string {
  return createHash('sha1').update(normalizeMasked(masked)).digest('hex').slice(0, 16);
}
