// What the spans of a statement text say about it (name, operation, table,
// db.query.text), computed once per distinct text. The trace comment is cut
// off (by the lexer, so a nested comment goes whole) before the lookup, so
// the same query from many requests hits the cache.
import { withoutTraceComment as cutComment } from '@pgferret/sql';
import { Origin } from '../events/layout';
import { describeSql, spanName, type StatementSql } from './sql';

export interface StatementDescription extends StatementSql {
  name: string;
}

/** The text without the comment the trace context was read from. */
export function withoutTraceComment(text: string, origin: number): string {
  if (origin === Origin.TAIL) return cutComment(text, 'tail');
  if (origin === Origin.HEAD) return cutComment(text, 'head');
  return text;
}

export class SqlDescriber {
  private cache = new Map<string, StatementDescription[]>();

  constructor(private readonly rawQueryText: boolean, private readonly maxEntries = 4096) {}

  describe(text: string, origin: number, index: number): StatementDescription {
    const key = withoutTraceComment(text, origin);
    let parts = this.cache.get(key);
    if (!parts) {
      parts = describeSql(key, this.rawQueryText).map((d) => ({ name: spanName(d), ...d }));
      // a bounded cache: start over when full (cheaper than LRU bookkeeping per hit)
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, parts);
    }
    return parts[Math.min(index, parts.length - 1)];
  }
}
