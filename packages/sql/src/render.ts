// db.query.text from tokens: comments dropped, whitespace runs collapsed to
// one space, and (when masking) every literal as `?`. An `unsure` token is
// masked whole, so nothing after the lexer's doubt is shown.
import { isComment, type Token } from './lexer';

export function isMasked(t: Token): boolean {
  return t.kind === 'string' || t.kind === 'number' || t.kind === 'unsure';
}

/** Tokens [from, to) as one line of text, literals as `?` when `mask`. */
export function renderTokens(sql: string, toks: readonly Token[], from: number, to: number, mask: boolean): string {
  let out = '';
  let pendingSpace = false;
  for (let i = from; i < to; i++) {
    const t = toks[i];
    if (t.kind === 'space' || isComment(t.kind)) {
      pendingSpace = out.length > 0;
      continue;
    }
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out += mask && isMasked(t) ? '?' : sql.slice(t.start, t.end);
  }
  return out;
}
