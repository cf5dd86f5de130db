// Where a trace context may sit in a whole text, by the lexer's reading: the
// block comment that opens the text (`head`), or the final block comment with
// nothing but `;` and whitespace after it (`tail`). A `traceparent=` inside a
// string, a dollar quote or an identifier is in neither. The head comment is
// the first token under every reading of standard_conforming_strings; the
// tail depends on it, so a session whose setting is unknown is read both ways.
import { isSpace, SqlLexer, type Token } from './lexer';
import { commentCarries, type Traceparent } from './traceparent';

export type CommentPlace = 'head' | 'tail';

const DOLLAR = 0x24;
const SEMICOLON = 0x3b;

/** true when a `$` at i starts no dollar quote: a parameter (`$1`) */
function isParameter(sql: string, i: number): boolean {
  const d = sql.charCodeAt(i + 1);
  return d >= 0x30 && d <= 0x39;
}

/**
 * The tail comment of the common shape, without the lexer: the text's only
 * comment is its last token (then only `;` and whitespace), with no quote,
 * dollar quote or `--` before it — an ORM's statement with the SDK's comment
 * appended. Nothing before the comment can then hide it or be hidden in it, so
 * the lexer's answer is known, under either standard_conforming_strings.
 * undefined when the text is not that simple: the lexer decides.
 */
function plainTail(sql: string): Token | undefined {
  let end = sql.length;
  while (end > 0 && (isSpace(sql.charCodeAt(end - 1)) || sql.charCodeAt(end - 1) === SEMICOLON)) end--;
  const open = sql.indexOf('/*');
  // one comment, closed by the first */ after its opening, with nothing nested
  if (open < 0 || sql.indexOf('*/', open + 2) !== end - 2 || sql.indexOf('/*', open + 2) !== -1) return undefined;
  for (let i = 0; i < open; i++) {
    const c = sql.charCodeAt(i);
    if (c === 0x27 || c === 0x22 || (c === DOLLAR && !isParameter(sql, i)) || (c === 0x2d && sql.charCodeAt(i + 1) === 0x2d)) return undefined;
  }
  return { kind: 'block_comment', start: open, end };
}

/** The head or tail trace comment of a text, found without allocating a token list. */
export function findTraceComment(sql: string, where: CommentPlace, standardConformingStrings?: boolean): Token | null {
  if (where === 'tail') {
    const plain = plainTail(sql);
    if (plain !== undefined) return plain;
  }
  const lx = new SqlLexer(sql, standardConformingStrings);
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

/** true when the lexer gives up before the end of the text (an unterminated literal, or an ambiguous one) */
function lexerUnsure(sql: string, standardConformingStrings?: boolean): boolean {
  const lx = new SqlLexer(sql, standardConformingStrings);
  while (lx.next()) if (lx.kind === 'unsure') return true;
  return false;
}

function startsUnsure(sql: string): boolean {
  const lx = new SqlLexer(sql);
  while (lx.next()) if (lx.kind !== 'space') return lx.kind === 'unsure';
  return false;
}

/** The readings of standard_conforming_strings to try: the session's, or both when it is unknown. */
export function readings(standardConformingStrings?: boolean): boolean[] {
  return standardConformingStrings === undefined ? [true, false] : [standardConformingStrings];
}

/**
 * The text without its head or tail trace comment (unchanged when it has none).
 * `found`: what findTraceComment(sql, where, standardConformingStrings) gave
 * the caller already (checkTraceComment's `comment`), so the text is not read again.
 */
export function withoutTraceComment(sql: string, where: CommentPlace, standardConformingStrings?: boolean, found?: Token | null): string {
  let c = found !== undefined ? found : findTraceComment(sql, where, standardConformingStrings);
  // an unknown setting: the tail comment under either reading (the kernel read one there)
  if (!c && where === 'tail' && standardConformingStrings === undefined) c = findTraceComment(sql, where, true) ?? findTraceComment(sql, where, false);
  return c ? sql.slice(0, c.start) + sql.slice(c.end) : sql;
}

/**
 * `confirmed`: the lexer finds these ids in the head/tail comment (under the
 * session's setting, or under either reading when it is unknown).
 * `rejected`: it does not, and is sure of it (the kernel read them out of a
 * literal, or a comment elsewhere).
 * `unverifiable`: the lexer cannot tell: the text was cut before the place the
 * kernel read (long texts), or a literal in it never ends (the server refuses
 * such a text, so it is no literal of a statement that runs).
 */
export type TraceCommentCheck = 'confirmed' | 'rejected' | 'unverifiable';

export function confirmTraceComment(
  sql: string, where: CommentPlace, tp: Omit<Traceparent, 'version'>, textComplete: boolean, standardConformingStrings?: boolean,
): TraceCommentCheck {
  return checkTraceComment(sql, where, tp, textComplete, standardConformingStrings).check;
}

/**
 * confirmTraceComment's answer, and the comment it found under the reading
 * withoutTraceComment uses (the session's setting; a head's is the same under
 * every reading): `comment` is undefined when it did not read the text that way
 * (a tail under an unknown setting).
 */
export function checkTraceComment(
  sql: string, where: CommentPlace, tp: Omit<Traceparent, 'version'>, textComplete: boolean, standardConformingStrings?: boolean,
): { check: TraceCommentCheck; comment: Token | null | undefined } {
  const tries = where === 'head' ? [standardConformingStrings] : readings(standardConformingStrings);
  const cutReading = where === 'head' || standardConformingStrings !== undefined;
  let comment: Token | null | undefined;
  for (const scs of tries) {
    const c = findTraceComment(sql, where, scs);
    if (cutReading && comment === undefined) comment = c;
    if (c && commentCarries(sql, c, tp)) return { check: 'confirmed', comment };
  }
  if (!textComplete) {
    // a head comment is within the text unless the text was cut inside it
    return { check: where === 'tail' || startsUnsure(sql) ? 'unverifiable' : 'rejected', comment };
  }
  // a tail the lexer could not reach under any reading
  if (where === 'tail' && tries.every((scs) => lexerUnsure(sql, scs))) return { check: 'unverifiable', comment };
  return { check: 'rejected', comment };
}
