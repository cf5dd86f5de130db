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

// one code per token kind in a shape (+ SPACED when whitespace came before it)
const KIND_CODES: Partial<Record<TokenKind, number>> = { string: 1, number: 2, param: 3, word: 4, qident: 5, semicolon: 6, open: 7, close: 8, op: 9 };
const SPACED = 16;

/** FNV-1a and a multiply-rotate hash, 32 bits each, over one UTF-16 unit */
const fnv = (h: number, c: number): number => Math.imul(h ^ c, 0x01000193);
const mix = (h: number, c: number): number => {
  const x = Math.imul(h + c, 0x9e3779b1);
  return (x << 13) | (x >>> 19);
};

/**
 * What describeSql reads of a text, when literals are masked: each token's
 * kind, whether whitespace came before it, and its text unless it is a
 * literal (length-prefixed, so no two token lists read the same), hashed to
 * 53 bits as it is lexed: no string is built per statement (a TPC-B text is
 * new each time, its shape is not). Two shapes that collide would share a
 * description: with at most 4,096 shapes kept, ~1 in 2^41 per text, the odds
 * pg_stat_statements accepts for its 64-bit queryid.
 * null when the text has a comment (a statement's own traceparent sits in
 * one) or the lexer gave up: those are described from their full text.
 */
export function sqlShape(sql: string, standardConformingStrings?: boolean): number | null {
  const lx = new SqlLexer(sql, standardConformingStrings);
  let a = 0x811c9dc5;
  let b = 0x2545f491;
  let spaced = false;
  while (lx.next()) {
    const kind = lx.kind;
    if (kind === 'space') {
      spaced = true;
      continue;
    }
    const code = KIND_CODES[kind];
    if (code === undefined) return null; // comments, unsure
    const c = spaced ? code + SPACED : code;
    a = fnv(a, c);
    b = mix(b, c);
    spaced = false;
    if (kind === 'string' || kind === 'number') continue;
    a = fnv(a, lx.end - lx.start);
    b = mix(b, lx.end - lx.start);
    for (let i = lx.start; i < lx.end; i++) {
      const ch = sql.charCodeAt(i);
      a = fnv(a, ch);
      b = mix(b, ch);
    }
  }
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b ^= b >>> 13;
  return (a >>> 0) * 0x200000 + (b >>> 11);
}

export class SqlDescriber {
  private cache = new Map<string, StatementDescription[]>();
  /** masked descriptions by shape (sqlShape): filled only when a text is described in full, so a shape's first text is */
  private shapes = new Map<number, StatementDescription[]>();
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
