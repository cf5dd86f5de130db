// The second opinion on the kernel's trace context: the kernel finds
// `traceparent='…'` by byte patterns, the lexer says whether those bytes sit
// in a real comment (the one opening the text, or the final block comment
// with only `;`/whitespace after it). A context read out of a literal, a
// dollar quote or an identifier is rejected: the statement is malformed and
// becomes a root.
import { confirmTraceComment, type TraceCommentCheck } from '@pgferret/sql';
import type { StartRecord } from '../events/decode';
import { Origin } from '../events/layout';

export type ContextCheck = TraceCommentCheck | 'root';

/** Whether the text was read whole: the lexer can only vouch for a tail it has. */
function textComplete(start: StartRecord): boolean {
  return start.textTotal !== 0 && start.textTotal <= Buffer.byteLength(start.text);
}

export function checkTraceContext(start: StartRecord): ContextCheck {
  if (!start.traceId || !start.parentSpanId) return 'root';
  const where = start.origin === Origin.HEAD ? 'head' : start.origin === Origin.TAIL ? 'tail' : null;
  if (!where) return 'root';
  return confirmTraceComment(start.text, where, { traceId: start.traceId, parentSpanId: start.parentSpanId, flags: start.flags }, textComplete(start));
}
