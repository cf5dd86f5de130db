// The second opinion on the kernel's trace context: the kernel finds
// `traceparent='…'` by byte patterns, the lexer says whether those bytes sit
// in a real comment (the one opening the text, or the final block comment
// with only `;`/whitespace after it), reading '…' strings with the session's
// standard_conforming_strings when the statement carries it, both ways when
// not. A context read out of a literal, a dollar quote or an identifier is
// rejected: the statement is malformed and becomes a root. One the lexer
// cannot place (a cut text, a literal that never ends) stays the parent,
// flagged unconfirmed: a statement is never dropped for the lexer's doubt.
import { checkTraceComment, type Token, type TraceCommentCheck } from '@pgferret/sql';
import type { StartRecord } from '../events/decode';
import { Origin } from '../events/layout';

export type ContextCheck = TraceCommentCheck | 'root';

/** The session's standard_conforming_strings, when the kernel read it in the backend as the text arrived. */
export function sessionScs(start: StartRecord): boolean | undefined {
  return start.standardConformingStrings;
}

/** Whether the text was read whole: the lexer can only vouch for a tail it has. */
function textComplete(start: StartRecord): boolean {
  return start.textTotal !== 0 && start.textTotal <= Buffer.byteLength(start.text);
}

export function checkTraceContext(start: StartRecord): ContextCheck {
  return traceContext(start).check;
}

/**
 * The check, and the trace comment the lexer found where the describer cuts it
 * (undefined: not looked for that way), so the text is read once for both.
 */
export function traceContext(start: StartRecord): { check: ContextCheck; comment: Token | null | undefined } {
  if (!start.traceId || !start.parentSpanId) return ROOT;
  const where = start.origin === Origin.HEAD ? 'head' : start.origin === Origin.TAIL ? 'tail' : null;
  if (!where) return ROOT;
  const ids = { traceId: start.traceId, parentSpanId: start.parentSpanId, flags: start.flags };
  return checkTraceComment(start.text, where, ids, textComplete(start), sessionScs(start));
}

const ROOT = Object.freeze({ check: 'root' as const, comment: undefined });

/** A.traceContextConfidence of a statement parented by its context; null for roots. */
export function contextConfidence(check: ContextCheck): 'confirmed' | 'unconfirmed' | null {
  if (check === 'confirmed') return 'confirmed';
  if (check === 'unverifiable') return 'unconfirmed';
  return null;
}
