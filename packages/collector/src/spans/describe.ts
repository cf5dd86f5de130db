// What the spans of a statement text say about it (name, operation, table,
// db.query.text), computed once per distinct text. The trace comment is cut
// off (by the lexer, so a nested comment goes whole) before the lookup, so
// the same query from many requests hits the cache. Texts that differ only in
// their literals and whitespace (the simple protocol's `WHERE id = 42`) share
// a description when literals are masked: they are looked up by their shape.
import { SqlLexer, withoutTraceComment as cutComment, type Token, type TokenKind } from '@pgferret/sql';
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

// one character per token kind in a shape (+ SPACED when whitespace came before it)
const KIND_CODES: Partial<Record<TokenKind, number>> = { string: 1, number: 2, param: 3, word: 4, qident: 5, semicolon: 6, open: 7, close: 8, op: 9 };
const SPACED = 16;

/**
 * What describeSql reads of a text, when literals are masked: each token's
 * kind, whether whitespace came before it, and its text unless it is a
 * literal (length-prefixed, so no two token lists give the same shape).
 * null when the text has a comment (a statement's own traceparent sits in
 * one) or the lexer gave up: those are described from their full text.
 */
export function sqlShape(sql: string, standardConformingStrings?: boolean): string | null {
  const lx = new SqlLexer(sql, standardConformingStrings);
  let shape = '';
  let spaced = false;
  while (lx.next()) {
    const kind = lx.kind;
    if (kind === 'space') {
      spaced = true;
      continue;
    }
    const code = KIND_CODES[kind];
    if (code === undefined) return null; // comments, unsure
    shape += String.fromCharCode(spaced ? code + SPACED : code);
    spaced = false;
    if (kind !== 'string' && kind !== 'number') shape += String.fromCharCode(lx.end - lx.start) + sql.slice(lx.start, lx.end);
  }
  return shape;
}

export class SqlDescriber {
  private cache = new Map<string, StatementDescription[]>();
  /** masked descriptions by shape (sqlShape): filled only when a text is described in full, so a shape's first text is */
  private shapes = new Map<string, StatementDescription[]>();
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
      // masked texts: the description is the shape's (texts seen once each do not fill the text cache)
      const shape = this.rawQueryText ? null : sqlShape(key, standardConformingStrings);
      parts = shape === null ? undefined : this.shapes.get(shape);
      if (parts) return parts[Math.min(index, parts.length - 1)];
      parts = describeSql(key, this.rawQueryText, standardConformingStrings).map((d) => ({ name: spanName(d), ...d }));
      // bounded caches: start over when full (cheaper than LRU bookkeeping per hit)
      if (cache.size >= this.maxEntries) cache.clear();
      cache.set(key, parts);
      if (shape !== null) {
        if (this.shapes.size >= this.maxEntries) this.shapes.clear();
        this.shapes.set(shape, parts);
      }
    }
    return parts[Math.min(index, parts.length - 1)];
  }
}
