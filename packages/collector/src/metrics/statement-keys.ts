// What metrics and the diagnose report group a statement by: its fingerprint
// and masked text, operation, table, database, and the app's route and
// application from the sqlcommenter comment. Descriptions are cached per
// distinct text (SqlDescriber), fingerprints per masked text: texts that
// differ only in literals share one hash.
import type { Statement } from '../spans/assemble';
import type { BackendInfo } from '../spans/build';
import { SqlDescriber } from '../spans/describe';
import { sessionScs } from '../spans/confirm';
import { statementFingerprint, type StatementFingerprint } from '@pgferret/sql';
import { commentOf, tagValue } from './sqlcommenter-tags';

export interface StatementKeys {
  fingerprint: string;
  /** the fingerprint's normalized text (@pgferret/sql), as top queries shows it */
  fingerprintText: string;
  /** literals masked, whatever --raw-query-text says: this text goes into labels and reports */
  maskedText: string;
  operation: string;
  collection: string;
  namespace: string;
  route: string;
  application: string;
}

export class StatementKeyer {
  private describer = new SqlDescriber(false);
  private fingerprints = new Map<string, StatementFingerprint>();

  keys(s: Statement, backend: BackendInfo): StatementKeys {
    const scs = sessionScs(s.start);
    const d = this.describer.describe(s.start.text, s.start.origin, s.index, scs);
    let fingerprint = this.fingerprints.get(d.queryText);
    if (fingerprint === undefined) {
      fingerprint = statementFingerprint(d.queryText);
      // bounded like the description cache: start over when full
      if (this.fingerprints.size >= 4096) this.fingerprints.clear();
      this.fingerprints.set(d.queryText, fingerprint);
    }
    const comment = commentOf(s.start.text, s.start.origin, scs);
    return {
      fingerprint: fingerprint.id,
      fingerprintText: fingerprint.text,
      maskedText: d.queryText,
      operation: d.operation ?? '',
      collection: d.collection ?? '',
      namespace: backend.database ?? '',
      route: (comment && tagValue(comment, 'route')) ?? '',
      application: (comment && tagValue(comment, 'application')) ?? '',
    };
  }
}
