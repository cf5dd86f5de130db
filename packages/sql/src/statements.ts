// The statements of a simple-protocol string, each with its own trace
// comment: the block comment that opens it or the one that ends it (before
// its `;`), read in that order as the kernel reads a whole text.
import { isComment, type Token } from './lexer';
import { readTraceparent, type TraceparentReading } from './traceparent';

export interface StatementRange {
  /** token indexes [from, to), the `;` excluded */
  from: number;
  to: number;
  /** the traceparent of this statement's own leading or final comment */
  traceparent: TraceparentReading;
}

function significant(t: Token): boolean {
  return t.kind !== 'space' && !isComment(t.kind);
}

/** The comment a trace context may sit in: first (`head`) or last (`tail`) non-space token of [from, to), if a block comment. */
export function traceCommentIn(toks: readonly Token[], from: number, to: number, where: 'head' | 'tail'): Token | null {
  if (where === 'head') {
    for (let i = from; i < to; i++) if (toks[i].kind !== 'space') return toks[i].kind === 'block_comment' ? toks[i] : null;
  } else {
    for (let i = to - 1; i >= from; i--) {
      const k = toks[i].kind;
      if (k !== 'space' && k !== 'semicolon') return k === 'block_comment' ? toks[i] : null;
    }
  }
  return null;
}

function statementTraceparent(sql: string, toks: readonly Token[], from: number, to: number): TraceparentReading {
  let reading: TraceparentReading = null;
  for (const where of ['head', 'tail'] as const) {
    const c = traceCommentIn(toks, from, to, where);
    const r = c ? readTraceparent(sql, c) : null;
    if (r !== null && r !== 'malformed') return r;
    reading ??= r;
  }
  return reading;
}

function wordIs(sql: string, t: Token | undefined, upper: string): boolean {
  return t !== undefined && t.kind === 'word' && t.end - t.start === upper.length && sql.slice(t.start, t.end).toUpperCase() === upper;
}

/**
 * Top-level statements: split at `;` outside parentheses and outside a
 * `BEGIN ATOMIC … END` function body (whose CASE … END pairs are counted, as
 * psql counts them), empty ones left out. An `unsure` token runs to the end,
 * so nothing after a doubt is split.
 */
export function splitStatements(sql: string, toks: readonly Token[]): StatementRange[] {
  const out: StatementRange[] = [];
  let from = 0;
  let depth = 0;
  let atomic = 0;
  let hasContent = false;
  let prev: Token | undefined;
  const close = (to: number) => {
    if (hasContent) out.push({ from, to, traceparent: statementTraceparent(sql, toks, from, to) });
  };
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i];
    if (t.kind === 'open') depth++;
    else if (t.kind === 'close') depth = Math.max(0, depth - 1);
    else if (t.kind === 'word') {
      if (wordIs(sql, prev, 'BEGIN') && wordIs(sql, t, 'ATOMIC')) atomic++;
      else if (atomic > 0 && wordIs(sql, t, 'CASE')) atomic++;
      else if (atomic > 0 && wordIs(sql, t, 'END')) atomic--;
    }
    if (t.kind === 'semicolon' && depth === 0 && atomic === 0) {
      close(i);
      from = i + 1;
      hasContent = false;
    } else if (significant(t)) hasContent = true;
    if (significant(t)) prev = t;
  }
  close(toks.length);
  return out;
}
