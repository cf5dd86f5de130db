// Where the SDK may append its comment: after the last token that is not
// whitespace or `;`, and only when the text has no comment yet and the lexer
// is sure of every literal (a quote in the comment could otherwise close one).
import { isComment, SqlLexer } from './lexer';

export interface ScanResult {
  /** a `--` or `/* *\/` comment outside literals and identifiers */
  hasComment: boolean;
  /** false when the lexer gave up (a literal, identifier or comment left open, or an ambiguous one) */
  complete: boolean;
  /** index just after the last token that is neither whitespace, comment nor `;` (0 if none) */
  end: number;
}

export function scanSql(sql: string): ScanResult {
  const lx = new SqlLexer(sql);
  let hasComment = false;
  let end = 0;
  while (lx.next()) {
    if (lx.kind === 'unsure') return { hasComment, complete: false, end };
    if (isComment(lx.kind)) hasComment = true;
    else if (lx.kind !== 'space' && lx.kind !== 'semicolon') end = lx.end;
  }
  return { hasComment, complete: true, end };
}
