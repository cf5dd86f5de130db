// What a span says about its SQL: the text with literals masked (the
// default for db.query.text), the statements of a multi-statement string,
// and the operation and table the span is named after. A small tokenizer
// that knows PostgreSQL's literals, identifiers, dollar quotes and nested
// comments is enough for all three.

type TokenKind = 'word' | 'qident' | 'string' | 'number' | 'param' | 'comment' | 'space' | 'semicolon' | 'open' | 'close' | 'other';

interface Token {
  kind: TokenKind;
  start: number;
  end: number;
}

// Character classes by code unit, read with charCodeAt: the tokenizer runs
// once per distinct statement text, i.e. per statement when literals vary.
const SPACE = 1;
const DIGIT = 2;
const IDENT_START = 4;
const IDENT_CONT = 8;
const NUMBER_CONT = 16;
const CLASS = new Uint8Array(128);
for (const ch of ' \t\n\r\f\v') CLASS[ch.charCodeAt(0)] = SPACE;
for (let c = 0x30; c <= 0x39; c++) CLASS[c] = DIGIT | IDENT_CONT | NUMBER_CONT;
for (let c = 0x41; c <= 0x5a; c++) {
  CLASS[c] = IDENT_START | IDENT_CONT | NUMBER_CONT;
  CLASS[c + 0x20] = IDENT_START | IDENT_CONT | NUMBER_CONT;
}
CLASS[0x5f] = IDENT_START | IDENT_CONT | NUMBER_CONT; // _
CLASS[0x24] = IDENT_CONT; // $
CLASS[0x2e] = NUMBER_CONT; // .

/** The class of a code unit; non-ASCII letters are identifier characters; past the end (NaN) none. */
const cls = (c: number) => (c < 128 ? CLASS[c] : c >= 128 ? IDENT_START | IDENT_CONT : 0);

const QUOTE = 0x27; // '
const DQUOTE = 0x22; // "
const BACKSLASH = 0x5c;
const SLASH = 0x2f;
const STAR = 0x2a;
const DASH = 0x2d;
const DOLLAR = 0x24;

function skipQuoted(s: string, i: number, q: number, backslash: boolean): number {
  i++;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (backslash && c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === q) {
      if (s.charCodeAt(i + 1) === q) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return s.length;
}

function skipBlockComment(s: string, i: number): number {
  let depth = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === SLASH && s.charCodeAt(i + 1) === STAR) {
      depth++;
      i += 2;
    } else if (c === STAR && s.charCodeAt(i + 1) === SLASH) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return s.length;
}

/** Prefixes of quoted strings: E'…' (backslash escapes), B'…', X'…', N'…', U'…'. */
const isStringPrefix = (c: number) => c === 0x42 || c === 0x62 || c === 0x58 || c === 0x78 || c === 0x4e || c === 0x6e || c === 0x55 || c === 0x75;

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    const next = s.charCodeAt(i + 1);
    const k = cls(c);
    const start = i;
    let kind: TokenKind;
    if (k & SPACE) {
      while (i < n && cls(s.charCodeAt(i)) & SPACE) i++;
      kind = 'space';
    } else if (c === DASH && next === DASH) {
      while (i < n && s.charCodeAt(i) !== 0x0a) i++;
      kind = 'comment';
    } else if (c === SLASH && next === STAR) {
      i = skipBlockComment(s, i);
      kind = 'comment';
    } else if (c === QUOTE) {
      i = skipQuoted(s, i, QUOTE, false);
      kind = 'string';
    } else if ((c === 0x45 || c === 0x65) && next === QUOTE) {
      i = skipQuoted(s, i + 1, QUOTE, true);
      kind = 'string';
    } else if (isStringPrefix(c) && next === QUOTE) {
      i = skipQuoted(s, i + 1, QUOTE, false);
      kind = 'string';
    } else if (c === DQUOTE) {
      i = skipQuoted(s, i, DQUOTE, false);
      kind = 'qident';
    } else if (c === DOLLAR && cls(next) & DIGIT) {
      i++;
      while (i < n && cls(s.charCodeAt(i)) & DIGIT) i++;
      kind = 'param';
    } else if (c === DOLLAR) {
      const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(s.slice(i, i + 66));
      if (m) {
        const close = s.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
        kind = 'string';
      } else {
        i++;
        kind = 'other';
      }
    } else if (k & DIGIT || (c === 0x2e && cls(next) & DIGIT)) {
      while (i < n && cls(s.charCodeAt(i)) & NUMBER_CONT) {
        const d = s.charCodeAt(i);
        const e = s.charCodeAt(i + 1);
        if ((d === 0x65 || d === 0x45) && (e === 0x2b || e === 0x2d)) i++; // exponent sign
        i++;
      }
      kind = 'number';
    } else if (k & IDENT_START) {
      while (i < n && cls(s.charCodeAt(i)) & IDENT_CONT) i++;
      kind = 'word';
    } else if (c === 0x3b) {
      i++;
      kind = 'semicolon';
    } else if (c === 0x28) {
      i++;
      kind = 'open';
    } else if (c === 0x29) {
      i++;
      kind = 'close';
    } else {
      i++;
      kind = 'other';
    }
    out.push({ kind, start, end: i });
  }
  return out;
}

const isSignificant = (t: Token) => t.kind !== 'space' && t.kind !== 'comment';

/** Tokens [from, to) rendered without comments, whitespace runs collapsed, literals as `?` when masking. */
function render(sql: string, toks: Token[], from: number, to: number, mask: boolean): string {
  let out = '';
  let pendingSpace = false;
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (!isSignificant(t)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += mask && (t.kind === 'string' || t.kind === 'number') ? '?' : sql.slice(t.start, t.end);
  }
  return out;
}

/** Token ranges of the top-level statements, without empty ones. */
function statementRanges(toks: Token[]): [number, number][] {
  const out: [number, number][] = [];
  let from = 0;
  let depth = 0;
  let hasContent = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') depth = Math.max(0, depth - 1);
    if (t.kind === 'semicolon' && depth === 0) {
      if (hasContent) out.push([from, i]);
      from = i + 1;
      hasContent = false;
    } else if (isSignificant(t)) hasContent = true;
  }
  if (hasContent) out.push([from, toks.length]);
  return out;
}

export interface SqlSummary {
  operation: string | null;
  collection: string | null;
}

const DML = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function identName(sql: string, t: Token): string {
  const raw = sql.slice(t.start, t.end);
  return t.kind === 'qident' ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase();
}

/** Qualified name starting at token index i (schema.table), or null. */
function nameAt(sql: string, toks: Token[], i: number): string | null {
  const t = toks[i];
  if (!t || (t.kind !== 'word' && t.kind !== 'qident')) return null;
  let name = identName(sql, t);
  while (toks[i + 1] && sql.slice(toks[i + 1].start, toks[i + 1].end) === '.' && toks[i + 2] && (toks[i + 2].kind === 'word' || toks[i + 2].kind === 'qident')) {
    name += '.' + identName(sql, toks[i + 2]);
    i += 2;
  }
  return name;
}

/** Operation (first keyword; the main verb after a WITH) and the table it targets. */
function summarizeTokens(sql: string, toks: Token[]): SqlSummary {
  // each word token uppercased once: the searches below look at tokens many times
  const words = toks.map((t) => (t.kind === 'word' ? sql.slice(t.start, t.end).toUpperCase() : ''));
  const word = (i: number) => words[i] ?? '';
  if (toks.length === 0) return { operation: null, collection: null };
  let op = word(0);
  if (!op) return { operation: null, collection: null };
  let i = 0;
  if (op === 'WITH') {
    let depth = 0;
    for (i = 1; i < toks.length; i++) {
      if (toks[i].kind === 'open') depth++;
      else if (toks[i].kind === 'close') depth--;
      else if (depth === 0 && DML.has(word(i))) break;
    }
    if (i >= toks.length) return { operation: 'WITH', collection: null };
    op = word(i);
  }
  let target: string | null = null;
  const after = (kw: string, stopAtDepth0 = true) => {
    let depth = 0;
    for (let j = i + 1; j < toks.length; j++) {
      if (toks[j].kind === 'open') depth++;
      else if (toks[j].kind === 'close') depth--;
      else if ((!stopAtDepth0 || depth === 0) && word(j) === kw) {
        const k = word(j + 1) === 'ONLY' ? j + 2 : j + 1;
        if (toks[k]?.kind === 'open') return null; // a subquery, not a table
        return nameAt(sql, toks, k);
      }
    }
    return null;
  };
  switch (op) {
    case 'SELECT':
      target = after('FROM');
      break;
    case 'INSERT':
    case 'MERGE':
      target = after('INTO');
      break;
    case 'DELETE':
      target = after('FROM');
      break;
    case 'UPDATE':
      target = nameAt(sql, toks, word(i + 1) === 'ONLY' ? i + 2 : i + 1);
      break;
    case 'COPY':
    case 'TRUNCATE':
    case 'VACUUM':
    case 'ANALYZE':
      target = toks[i + 1]?.kind === 'open' ? null : nameAt(sql, toks, word(i + 1) === 'TABLE' ? i + 2 : i + 1);
      break;
    case 'CALL':
      target = nameAt(sql, toks, i + 1);
      break;
    default:
      break;
  }
  return { operation: op, collection: target };
}

/** The name of a statement span, after the OTel database conventions. */
export function spanName(summary: SqlSummary): string {
  if (!summary.operation) return 'postgresql';
  return summary.collection ? `${summary.operation} ${summary.collection}` : summary.operation;
}

export interface StatementSql extends SqlSummary {
  /** db.query.text: literals masked, or as sent when raw; comments removed */
  queryText: string;
}

/** Everything the spans say about a (multi-statement) text, from one tokenization. */
export function describeSql(sql: string, raw: boolean): StatementSql[] {
  const toks = tokenize(sql);
  const ranges = statementRanges(toks);
  if (ranges.length === 0) ranges.push([0, toks.length]);
  return ranges.map(([a, b]) => ({
    ...summarizeTokens(sql, toks.slice(a, b).filter(isSignificant)),
    queryText: render(sql, toks, a, b, !raw),
  }));
}
