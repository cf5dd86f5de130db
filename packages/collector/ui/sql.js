// Makes one-line SQL readable: a line break before the main clauses. Only
// whitespace outside string literals, quoted identifiers and comments changes;
// the text itself is kept as it was sent.

const CLAUSES = [
  'SELECT', 'FROM', 'WHERE', 'GROUP BY', 'HAVING', 'ORDER BY', 'LIMIT', 'OFFSET', 'RETURNING',
  'VALUES', 'SET', 'ON CONFLICT', 'UNION ALL', 'UNION', 'INNER JOIN', 'LEFT JOIN', 'RIGHT JOIN',
  'FULL JOIN', 'CROSS JOIN', 'JOIN', 'WITH',
];
const CLAUSE_RE = new RegExp(`\\s+(${CLAUSES.map((c) => c.replace(' ', '\\s+')).join('|')})\\b`, 'gi');
// Literals, quoted identifiers, dollar quotes and comments are copied untouched.
const OPAQUE_RE = /('(?:[^']|'')*'|"(?:[^"]|"")*"|\$\w*\$[\s\S]*?\$\w*\$|--[^\n]*|\/\*[\s\S]*?\*\/)/;

export function formatSql(sql) {
  if (sql.includes('\n') || sql.length < 60) return sql;
  return sql
    .split(OPAQUE_RE)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(CLAUSE_RE, (_m, kw) => `\n${kw}`)))
    .join('')
    .replace(/\s*(\/\*[^*]*traceparent[\s\S]*?\*\/)\s*$/, '\n$1')
    .trim();
}
