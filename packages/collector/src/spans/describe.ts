// What the spans of a statement text say about it (name, operation, table,
// db.query.text), computed once per distinct text. The trace comment is cut
// off before the lookup, so the same query from many requests hits the cache.
import { Origin } from '../events/layout';
import { describeSql, spanName } from './sql';

export interface StatementDescription {
  name: string;
  operation: string | null;
  collection: string | null;
  queryText: string;
}

/** The text without the comment the trace context was read from. */
export function withoutTraceComment(text: string, origin: number): string {
  if (origin === Origin.TAIL) {
    const at = text.lastIndexOf('/*');
    return at >= 0 ? text.slice(0, at) : text;
  }
  if (origin === Origin.HEAD) {
    const at = text.indexOf('*/');
    return at >= 0 ? text.slice(at + 2) : text;
  }
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
