// What the spans of a statement text say about it (name, operation, table,
// db.query.text), computed once per distinct text. The trace comment is cut
// off (by the lexer, so a nested comment goes whole) before the lookup, so
// the same query from many requests hits the cache.
import { withoutTraceComment as cutComment, type Token } from '@pgferret/sql';
import { Origin } from '../events/layout';
import { describeSql, spanName, type StatementSql } from './sql';

export interface StatementDescription extends StatementSql {
  name: string;
}

/**
 * The text without the comment the trace context was read from. `found`: that
 * comment as the confirmation found it (spans/confirm.ts `traceContext`), when it did.
 */
export function withoutTraceComment(text: string, origin: number, standardConformingStrings?: boolean, found?: Token | null): string {
  if (origin === Origin.TAIL) return cutComment(text, 'tail', standardConformingStrings, found);
  if (origin === Origin.HEAD) return cutComment(text, 'head', standardConformingStrings, found);
  return text;
}

export class SqlDescriber {
  private cache = new Map<string, StatementDescription[]>();
  /** texts of sessions with standard_conforming_strings off, or unknown, are cached apart */
  private other = { off: new Map<string, StatementDescription[]>(), unknown: new Map<string, StatementDescription[]>() };

  constructor(private readonly rawQueryText: boolean, private readonly maxEntries = 4096) {}

  /**
   * `standardConformingStrings`: the session's setting, undefined when not known (both readings are tried);
   * `traceComment`: the trace comment as the lexer found it already (undefined: look)
   */
  describe(text: string, origin: number, index: number, standardConformingStrings?: boolean, traceComment?: Token | null): StatementDescription {
    const key = withoutTraceComment(text, origin, standardConformingStrings, traceComment);
    const cache = standardConformingStrings === true ? this.cache : standardConformingStrings === false ? this.other.off : this.other.unknown;
    let parts = cache.get(key);
    if (!parts) {
      parts = describeSql(key, this.rawQueryText, standardConformingStrings).map((d) => ({ name: spanName(d), ...d }));
      // a bounded cache: start over when full (cheaper than LRU bookkeeping per hit)
      if (cache.size >= this.maxEntries) cache.clear();
      cache.set(key, parts);
    }
    return parts[Math.min(index, parts.length - 1)];
  }
}
