// The fingerprint of a statement for the top-queries view: @pgferret/sql's
// statementFingerprint, the one /metrics, diagnose and the UI (through the
// API) use too. Computed once at ingest and stored.
import { FINGERPRINT_TEXT_MAX, normalizeStatement, statementFingerprint, type StatementFingerprint } from '@pgferret/sql';

export { FINGERPRINT_TEXT_MAX };
export type Fingerprint = StatementFingerprint;

export function normalizeSql(sql: string): string {
  return normalizeStatement(sql).text;
}

export function fingerprint(sql: string): Fingerprint {
  return statementFingerprint(sql);
}
