// The sqlcommenter tags (route, application) of a statement text, read
// from the comment the trace context came from, or from a trailing comment
// when there was none (tags without a traceparent). The comment is found by
// the lexer (@pgferret/sql), so a `/*` inside a literal is never taken for
// it; values are decoded by the same module the SDK encodes them with.
import { sqlcommenterBody, tagValue } from '@pgferret/sql';
import { Origin } from '../events/layout';

export { tagValue };

/** The body of the statement's sqlcommenter comment, or null. */
export function commentOf(text: string, origin: number, standardConformingStrings?: boolean): string | null {
  return sqlcommenterBody(text, origin === Origin.HEAD ? 'head' : 'tail', standardConformingStrings);
}
