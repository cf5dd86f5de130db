// Where a trace context may sit in a whole text, by the lexer's reading: the
// block comment that opens the text (`head`), or the final block comment with
// nothing but `;` and whitespace after it (`tail`). A `traceparent=` inside a
// string, a dollar quote or an identifier is in neither.
import { SqlLexer, type Token } from './lexer';
import { commentCarries, type Traceparent } from './traceparent';

export type CommentPlace = 'head' | 'tail';

/** The head or tail trace comment of a text, found without allocating a token list. */
export function findTraceComment(sql: string, where: CommentPlace): Token | null {
  const lx = new SqlLexer(sql);
  if (where === 'head') {
    while (lx.next()) {
      if (lx.kind !== 'space') return lx.kind === 'block_comment' ? { kind: lx.kind, start: lx.start, end: lx.end } : null;
    }
    return null;
  }
  let last: Token | null = null;
  while (lx.next()) {
    if (lx.kind === 'block_comment') last = { kind: lx.kind, start: lx.start, end: lx.end };
    else if (lx.kind !== 'space' && lx.kind !== 'semicolon') last = null;
  }
  return last;
}

function startsUnsure(sql: string): boolean {
  const lx = new SqlLexer(sql);
  while (lx.next()) if (lx.kind !== 'space') return lx.kind === 'unsure';
  return false;
}

/** The text without its head or tail trace comment (unchanged when it has none). */
export function withoutTraceComment(sql: string, where: CommentPlace): string {
  const c = findTraceComment(sql, where);
  return c ? sql.slice(0, c.start) + sql.slice(c.end) : sql;
}

/**
 * `confirmed`: the lexer finds these ids in the head/tail comment.
 * `rejected`: it does not (the kernel read them out of a literal, or a comment elsewhere).
 * `unverifiable`: the text was cut before the place the kernel read (long texts), so the lexer cannot tell.
 */
export type TraceCommentCheck = 'confirmed' | 'rejected' | 'unverifiable';

export function confirmTraceComment(sql: string, where: CommentPlace, tp: Omit<Traceparent, 'version'>, textComplete: boolean): TraceCommentCheck {
  const c = findTraceComment(sql, where);
  if (c && commentCarries(sql, c, tp)) return 'confirmed';
  if (textComplete) return 'rejected';
  // a head comment is within the text unless the text was cut inside it
  return where === 'tail' || startsUnsure(sql) ? 'unverifiable' : 'rejected';
}
