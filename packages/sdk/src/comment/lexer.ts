// A PostgreSQL lexer reduced to the one question the commenter asks: does
// this text already carry a comment, and where does the last statement end?
// It follows src/backend/parser/scan.l with standard_conforming_strings on:
// '…' ('' escapes), E'…' (backslash escapes too), "…" identifiers, $tag$…$tag$,
// -- line comments and nested /* */ block comments.

export interface ScanResult {
  /** a `--` or `/* *\/` comment outside literals and identifiers */
  hasComment: boolean;
  /** false when a literal, identifier or comment is left open */
  complete: boolean;
  /** index just after the last token that is neither whitespace nor `;` (0 if none) */
  end: number;
}

const SQUOTE = 0x27;
const DQUOTE = 0x22;
const DOLLAR = 0x24;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;
const SEMI = 0x3b;

function isSpace(c: number): boolean {
  // scan.l: space, \t, \n, \r, \f, \v
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isIdentCont(c: number): boolean {
  return isIdentStart(c) || isDigit(c) || c === DOLLAR;
}

/** End of a '…' literal starting at the opening quote, or -1 when unterminated. */
function skipQuoted(sql: string, open: number, quote: number, backslashEscapes: boolean): number {
  const n = sql.length;
  let i = open + 1;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (backslashEscapes && c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (sql.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** Length of a `$tag$` delimiter at i (0 when there is none). */
function dollarTagLength(sql: string, i: number): number {
  let j = i + 1;
  const n = sql.length;
  if (j < n && sql.charCodeAt(j) === DOLLAR) return 2;
  if (j >= n || !isIdentStart(sql.charCodeAt(j))) return 0;
  j++;
  while (j < n) {
    const c = sql.charCodeAt(j);
    if (c === DOLLAR) return j - i + 1;
    if (!(isIdentStart(c) || isDigit(c))) return 0;
    j++;
  }
  return 0;
}

/** End of a block comment starting at i; Postgres nests them. -1 when unterminated. */
function skipBlockComment(sql: string, open: number): number {
  const n = sql.length;
  let depth = 1;
  let i = open + 2;
  while (i < n) {
    const c = sql.charCodeAt(i);
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (c === SLASH && next === STAR) {
      depth++;
      i += 2;
    } else if (c === STAR && next === SLASH) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return -1;
}

export function scanSql(sql: string): ScanResult {
  const n = sql.length;
  let hasComment = false;
  let end = 0;
  let i = 0;
  while (i < n) {
    const c = sql.charCodeAt(i);
    if (isSpace(c) || c === SEMI) {
      i++;
      continue;
    }
    const next = i + 1 < n ? sql.charCodeAt(i + 1) : -1;
    if (c === DASH && next === DASH) {
      hasComment = true;
      i += 2;
      while (i < n && sql.charCodeAt(i) !== 0x0a && sql.charCodeAt(i) !== 0x0d) i++;
      continue;
    }
    if (c === SLASH && next === STAR) {
      hasComment = true;
      const close = skipBlockComment(sql, i);
      if (close < 0) return { hasComment, complete: false, end };
      i = close;
      continue;
    }
    let stop: number;
    if (c === SQUOTE) {
      stop = skipQuoted(sql, i, SQUOTE, false);
    } else if (c === DQUOTE) {
      stop = skipQuoted(sql, i, DQUOTE, false);
    } else if ((c === 0x45 || c === 0x65) && next === SQUOTE) {
      stop = skipQuoted(sql, i + 1, SQUOTE, true); // E'…'
    } else if ((c === 0x55 || c === 0x75) && next === 0x26 && (sql.charCodeAt(i + 2) === SQUOTE || sql.charCodeAt(i + 2) === DQUOTE)) {
      stop = skipQuoted(sql, i + 2, sql.charCodeAt(i + 2), false); // U&'…', U&"…"
    } else if (c === DOLLAR) {
      const tagLen = dollarTagLength(sql, i);
      if (tagLen > 0) {
        const close = sql.indexOf(sql.slice(i, i + tagLen), i + tagLen);
        stop = close < 0 ? -1 : close + tagLen;
      } else {
        stop = i + 1;
        while (stop < n && isDigit(sql.charCodeAt(stop))) stop++; // $1 parameters
      }
    } else if (isIdentStart(c)) {
      // identifiers and keywords may contain `$`, so `a$b$` is no dollar quote;
      // B'…', X'…', N'…' prefixes end here and their quote is read next
      stop = i + 1;
      while (stop < n && isIdentCont(sql.charCodeAt(stop))) stop++;
    } else if (isDigit(c)) {
      stop = i + 1;
      while (stop < n) {
        const d = sql.charCodeAt(stop);
        if (!(isDigit(d) || isIdentStart(d) || d === 0x2e)) break;
        stop++;
      }
    } else {
      stop = i + 1; // operator or punctuation character
    }
    if (stop < 0) return { hasComment, complete: false, end };
    end = stop;
    i = stop;
  }
  return { hasComment, complete: true, end };
}
