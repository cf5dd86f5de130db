// Makes one-line SQL readable in the UI: a line break before the main
// clauses and before a trailing trace comment. It reads the tokens of the
// shared lexer (@pgferret/sql), so only whitespace between tokens changes:
// literals, quoted identifiers and comments stay as they were sent.
import { findTraceComment, tokenize } from '@pgferret/sql';

const CLAUSES = new Set([
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'OFFSET', 'RETURNING',
  'VALUES', 'SET', 'ON CONFLICT', 'UNION ALL', 'UNION', 'INNER JOIN', 'LEFT JOIN', 'RIGHT JOIN',
  'FULL JOIN', 'CROSS JOIN', 'JOIN', 'WITH',
]);

export function layoutSql(sql: string): string {
  if (sql.includes('\n') || sql.length < 60) return sql;
  const toks = tokenize(sql);
  const tail = findTraceComment(sql, 'tail');
  const traceComment = tail && sql.slice(tail.start, tail.end).includes('traceparent') ? tail.start : -1;
  const word = (i: number) => (toks[i]?.kind === 'word' ? sql.slice(toks[i].start, toks[i].end).toUpperCase() : '');
  let out = '';
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    let text = sql.slice(t.start, t.end);
    if (t.kind === 'space' && i > 0) {
      const w = word(i + 1);
      // the JOIN of LEFT JOIN stays on the line its clause began
      const clause = w && !CLAUSES.has(`${word(i - 1)} ${w}`) && (CLAUSES.has(w) || CLAUSES.has(`${w} ${word(i + 3)}`));
      const breaks = clause || toks[i + 1]?.start === traceComment;
      if (breaks) text = '\n';
    }
    out += text;
  }
  return out.trim();
}
