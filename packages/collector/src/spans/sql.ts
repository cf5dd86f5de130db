// What a span says about its SQL: the text with literals masked (the
// default for db.query.text), the statements of a multi-statement string
// with each one's own traceparent, and the operation and table the span is
// named after. All three read the tokens of @pgferret/sql, the lexer the SDK
// uses too, so the collector never disagrees with the SDK about a comment.
import { isComment, renderTokens, splitStatements, tokenize, type Token, type TraceparentReading } from '@pgferret/sql';

const isSignificant = (t: Token) => t.kind !== 'space' && !isComment(t.kind);

export interface SqlSummary {
  operation: string | null;
  collection: string | null;
}

const DML = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'MERGE']);

function identName(sql: string, t: Token): string {
  const raw = sql.slice(t.start, t.end);
  if (t.kind !== 'qident') return raw.toLowerCase();
  return raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw; // U&"…" kept as written
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
  /** the traceparent of this statement's own leading or final comment */
  traceparent: TraceparentReading;
}

/** Everything the spans say about a (multi-statement) text, from one tokenization. */
export function describeSql(sql: string, raw: boolean, standardConformingStrings?: boolean): StatementSql[] {
  const toks = tokenize(sql, standardConformingStrings);
  const ranges = splitStatements(sql, toks);
  if (ranges.length === 0) ranges.push({ from: 0, to: toks.length, traceparent: null });
  return ranges.map(({ from, to, traceparent }) => ({
    ...summarizeTokens(sql, toks.slice(from, to).filter(isSignificant)),
    queryText: renderTokens(sql, toks, from, to, !raw),
    traceparent,
  }));
}
