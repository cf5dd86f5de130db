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

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';
const isDigit = (c: string) => c >= '0' && c <= '9';
const isIdentStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c >= '\u0080';
const isIdentCont = (c: string) => isIdentStart(c) || isDigit(c) || c === '$';
const isNumberCont = (c: string) => isDigit(c) || c === '.' || c === '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');

function skipQuoted(s: string, i: number, q: string, backslash: boolean): number {
  i++;
  while (i < s.length) {
    const c = s[i];
    if (backslash && c === '\\') {
      i += 2;
      continue;
    }
    if (c === q) {
      if (s[i + 1] === q) {
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
    if (s[i] === '/' && s[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (s[i] === '*' && s[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return s.length;
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const start = i;
    let kind: TokenKind;
    if (isSpace(c)) {
      while (i < s.length && isSpace(s[i])) i++;
      kind = 'space';
    } else if (c === '-' && s[i + 1] === '-') {
      while (i < s.length && s[i] !== '\n') i++;
      kind = 'comment';
    } else if (c === '/' && s[i + 1] === '*') {
      i = skipBlockComment(s, i);
      kind = 'comment';
    } else if (c === "'") {
      i = skipQuoted(s, i, "'", false);
      kind = 'string';
    } else if ((c === 'E' || c === 'e') && s[i + 1] === "'") {
      i = skipQuoted(s, i + 1, "'", true);
      kind = 'string';
    } else if ((c === 'B' || c === 'b' || c === 'X' || c === 'x' || c === 'N' || c === 'n' || c === 'U' || c === 'u') && s[i + 1] === "'") {
      i = skipQuoted(s, i + 1, "'", false);
      kind = 'string';
    } else if (c === '"') {
      i = skipQuoted(s, i, '"', false);
      kind = 'qident';
    } else if (c === '$' && isDigit(s[i + 1] ?? '')) {
      i++;
      while (i < s.length && isDigit(s[i])) i++;
      kind = 'param';
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z_0-9]*)?\$/.exec(s.slice(i, i + 66));
      if (m) {
        const close = s.indexOf(m[0], i + m[0].length);
        i = close < 0 ? s.length : close + m[0].length;
        kind = 'string';
      } else {
        i++;
        kind = 'other';
      }
    } else if (isDigit(c) || (c === '.' && isDigit(s[i + 1] ?? ''))) {
      while (i < s.length && isNumberCont(s[i])) {
        if ((s[i] === 'e' || s[i] === 'E') && (s[i + 1] === '+' || s[i + 1] === '-')) i++;
        i++;
      }
      kind = 'number';
    } else if (isIdentStart(c)) {
      while (i < s.length && isIdentCont(s[i])) i++;
      kind = 'word';
    } else if (c === ';') {
      i++;
      kind = 'semicolon';
    } else if (c === '(') {
      i++;
      kind = 'open';
    } else if (c === ')') {
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
