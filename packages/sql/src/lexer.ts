// PostgreSQL's lexical rules (src/backend/parser/scan.l) as a cursor over a
// string: no allocation per token, so the SDK can run it on every query.
// standard_conforming_strings decides where a plain '…' string ends; when
// the caller knows the session's setting it passes it, otherwise both
// readings are tried. Where the lexer cannot be sure where a literal ends (an
// unterminated one, or a backslash the two readings read differently), it
// stops with one `unsure` token that covers the rest of the text: masking
// turns it into `?`, so a doubt never shows a literal.

export type TokenKind =
  | 'space'
  | 'line_comment'
  | 'block_comment'
  /** '…', E'…', B'…', X'…', U&'…' and $tag$…$tag$ (N'…' is the word N, then '…', as in scan.l) */
  | 'string'
  | 'number'
  /** $1, $2, … */
  | 'param'
  /** keyword or plain identifier */
  | 'word'
  /** "…" or U&"…" */
  | 'qident'
  | 'semicolon'
  | 'open'
  | 'close'
  /** an operator or punctuation character */
  | 'op'
  /** from here to the end of the text the lexer cannot tell literals from the rest */
  | 'unsure';

const SQUOTE = 0x27;
const DQUOTE = 0x22;
const DOLLAR = 0x24;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const AMP = 0x26;

export function isSpace(c: number): boolean {
  // scan.l: space, \t, \n, \r, \f, \v (nothing outside ASCII)
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** scan.l ident_start: letters, `_`, and every byte >= 0x80 (any non-ASCII character here). */
function isIdentStart(c: number): boolean {
  return isAsciiLetter(c) || c === 0x5f || c >= 0x80;
}

function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

/** Lower-cased ASCII letter, to compare prefixes like E' and U&' */
function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/**
 * End of a quoted run opened at `open`, or -1 when it never closes. A doubled
 * quote stands for one; with `backslash` a backslash escapes the next character.
 */
function quotedEnd(s: string, open: number, quote: number, doubling: boolean, backslash: boolean): number {
  const n = s.length;
  let i = open + 1;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (backslash && c === BACKSLASH) {
      i += 2;
    } else if (c === quote) {
      if (doubling && s.charCodeAt(i + 1) === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return -1;
}

/** scan.l horiz_space: within a line (\v since PostgreSQL 16) */
function isHorizSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0c || c === 0x0b;
}

/** Index just past a `--` comment starting at i (it stops before \n or \r). */
function lineCommentEnd(s: string, i: number): number {
  let j = i + 2;
  while (j < s.length && s.charCodeAt(j) !== 0x0a && s.charCodeAt(j) !== 0x0d) j++;
  return j;
}

/**
 * scan.l quotecontinue: after a closing quote at i-1, whitespace holding at
 * least one newline (and `--` comments, each ended by a newline) then a
 * quote continues the same literal: `'a'\n'b'` is 'ab'. Returns the index of
 * that next opening quote, or -1.
 */
function continuation(s: string, i: number): number {
  const n = s.length;
  let j = i;
  // {horiz_whitespace}* {newline}
  for (;;) {
    if (j >= n) return -1;
    const c = s.charCodeAt(j);
    if (c === 0x0a || c === 0x0d) break;
    if (isHorizSpace(c)) j++;
    else if (c === DASH && s.charCodeAt(j + 1) === DASH) j = lineCommentEnd(s, j);
    else return -1;
  }
  j++;
  // {special_whitespace}*: spaces, or a `--` comment with its newline
  for (;;) {
    if (j >= n) return -1;
    const c = s.charCodeAt(j);
    if (c === SQUOTE) return j;
    if (isSpace(c)) j++;
    else if (c === DASH && s.charCodeAt(j + 1) === DASH) {
      j = lineCommentEnd(s, j);
      if (j >= n) return -1;
      j++;
    } else return -1;
  }
}

/** End of a '…' literal opened at `open` and of its continuations, or -1 when one never closes. */
function stringEnd(s: string, open: number, doubling: boolean, backslash: boolean): number {
  for (;;) {
    const j = quotedEnd(s, open, SQUOTE, doubling, backslash);
    if (j < 0) return -1;
    const next = continuation(s, j);
    if (next < 0) return j;
    open = next;
  }
}

function hasBackslash(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === BACKSLASH) return true;
  return false;
}

/** End of a block comment opened at `open` (they nest), or -1. */
function blockCommentEnd(s: string, open: number): number {
  const n = s.length;
  let depth = 1;
  let i = open + 2;
  while (i < n) {
    const c = s.charCodeAt(i);
    const d = s.charCodeAt(i + 1);
    if (c === SLASH && d === STAR) {
      depth++;
      i += 2;
    } else if (c === STAR && d === SLASH) {
      i += 2;
      if (--depth === 0) return i;
    } else {
      i++;
    }
  }
  return -1;
}

export class SqlLexer {
  kind: TokenKind = 'space';
  start = 0;
  end = 0;
  /** why the lexer gave up, once it returned an `unsure` token */
  unsureReason: string | null = null;
  private done = false;

  /**
   * `standardConformingStrings`: the session's setting when known (its
   * ParameterStatus); undefined reads '…' both ways and is unsure where the
   * two readings end a string in different places.
   */
  constructor(readonly sql: string, readonly standardConformingStrings?: boolean) {}

  /** Moves to the next token; false at the end of the text. */
  next(): boolean {
    const s = this.sql;
    const n = s.length;
    const i = this.end;
    if (i >= n || this.done) return false;
    this.start = i;
    const c = s.charCodeAt(i);
    const d = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if (isSpace(c)) {
      let j = i + 1;
      while (j < n && isSpace(s.charCodeAt(j))) j++;
      return this.emit('space', j);
    }
    // words first: they are most of the tokens
    if (isIdentStart(c)) {
      const p = lower(c);
      if (d === SQUOTE) {
        if (p === 0x65) return this.literal(i + 1, true, true, 'an unterminated E string'); // E'…'
        if (p === 0x62 || p === 0x78) return this.literal(i + 1, false, false, 'an unterminated bit string'); // B'…', X'…'
      }
      if (p === 0x75 && d === AMP) {
        const q = s.charCodeAt(i + 2);
        // U&'…' ends as a standard string does whatever UESCAPE follows
        if (q === SQUOTE) return this.literal(i + 2, true, false, 'an unterminated U& string');
        if (q === DQUOTE) return this.quoted(i + 2, 'qident', true, false, 'an unterminated U& identifier');
      }
      let j = i + 1;
      while (j < n && isIdentCont(s.charCodeAt(j))) j++;
      return this.emit('word', j);
    }
    if (c === DASH && d === DASH) {
      let j = i + 2;
      while (j < n && s.charCodeAt(j) !== 0x0a && s.charCodeAt(j) !== 0x0d) j++;
      return this.emit('line_comment', j);
    }
    if (c === SLASH && d === STAR) {
      const j = blockCommentEnd(s, i);
      return j < 0 ? this.unsure('an unterminated /* comment') : this.emit('block_comment', j);
    }
    if (c === SQUOTE) return this.plainString(i);
    if (c === DQUOTE) return this.quoted(i, 'qident', true, false, 'an unterminated quoted identifier');
    if (c === DOLLAR) return this.dollar(i);
    if (isDigit(c) || (c === DOT && isDigit(d))) return this.number(i);
    if (c === 0x3b) return this.emit('semicolon', i + 1);
    if (c === 0x28) return this.emit('open', i + 1);
    if (c === 0x29) return this.emit('close', i + 1);
    return this.emit('op', i + 1);
  }

  private emit(kind: TokenKind, end: number): boolean {
    this.kind = kind;
    this.end = end;
    return true;
  }

  private unsure(reason: string): boolean {
    this.unsureReason = reason;
    this.done = true;
    return this.emit('unsure', this.sql.length);
  }

  private literal(open: number, doubling: boolean, backslash: boolean, what: string): boolean {
    const j = stringEnd(this.sql, open, doubling, backslash);
    return j < 0 ? this.unsure(what) : this.emit('string', j);
  }

  private quoted(open: number, kind: TokenKind, doubling: boolean, backslash: boolean, what: string): boolean {
    const j = quotedEnd(this.sql, open, this.sql.charCodeAt(open), doubling, backslash);
    return j < 0 ? this.unsure(what) : this.emit(kind, j);
  }

  /**
   * '…': a backslash escapes a quote only when standard_conforming_strings
   * is off. Unless the setting is known, both readings are tried; if they
   * end in different places, nothing after the opening quote is trusted.
   */
  private plainString(open: number): boolean {
    const scs = this.standardConformingStrings;
    const end = stringEnd(this.sql, open, true, scs === false);
    if (end < 0) return this.unsure('an unterminated string');
    if (scs === undefined && hasBackslash(this.sql, open + 1, end - 1)) {
      const off = stringEnd(this.sql, open, true, true);
      if (off !== end) return this.unsure("a backslash before a quote: where the string ends depends on standard_conforming_strings");
    }
    return this.emit('string', end);
  }

  private number(i: number): boolean {
    // digits, `.`, `_`, 0x/0o/0b prefixes, exponents; trailing letters (an
    // error since PG 15, an alias before) are taken along and masked with it
    const s = this.sql;
    const n = s.length;
    let j = i;
    const radix = s.charCodeAt(i) === 0x30 && /[xXoObB]/.test(s[i + 1] ?? '');
    while (j < n) {
      const c = s.charCodeAt(j);
      if ((c === 0x65 || c === 0x45) && (s.charCodeAt(j + 1) === 0x2b || s.charCodeAt(j + 1) === DASH) && isDigit(s.charCodeAt(j + 2))) j += 2;
      // scan.l's realfail gives the e back: 1e'…' is 1, then an E string (in 0x1e'…' the e is a hex digit)
      else if ((c === 0x65 || c === 0x45) && s.charCodeAt(j + 1) === SQUOTE && !radix) break;
      else if (isDigit(c) || isAsciiLetter(c) || c === 0x5f || c === DOT) j++;
      else break;
    }
    return this.emit('number', j);
  }

  /** $1, $$…$$, $tag$…$tag$, or a lone `$`. */
  private dollar(i: number): boolean {
    const s = this.sql;
    const n = s.length;
    let j = i + 1;
    if (isDigit(s.charCodeAt(j))) {
      while (j < n && isDigit(s.charCodeAt(j))) j++;
      return this.emit('param', j);
    }
    if (j >= n) return this.emit('op', j);
    if (s.charCodeAt(j) !== DOLLAR) {
      // scan.l dolq_start / dolq_cont: letters, `_`, digits after the first, any byte >= 0x80; no length limit
      if (!isIdentStart(s.charCodeAt(j))) return this.emit('op', j);
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c === DOLLAR) break;
        if (!(isIdentStart(c) || isDigit(c))) return this.emit('op', i + 1);
        j++;
      }
      if (j >= n) return this.emit('op', i + 1);
    }
    const tagEnd = j + 1;
    // the body ends at the first full delimiter: a `$` of a longer run is never one's start (see the tests)
    const close = s.indexOf(s.slice(i, tagEnd), tagEnd);
    return close < 0 ? this.unsure('an unterminated dollar quote') : this.emit('string', close + tagEnd - i);
  }
}

export interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

/** All tokens of a text; the last one is `unsure` when the lexer gave up. */
export function tokenize(sql: string, standardConformingStrings?: boolean): Token[] {
  const lx = new SqlLexer(sql, standardConformingStrings);
  const out: Token[] = [];
  while (lx.next()) out.push({ kind: lx.kind, start: lx.start, end: lx.end });
  return out;
}

export function isComment(kind: TokenKind): boolean {
  return kind === 'line_comment' || kind === 'block_comment';
}
