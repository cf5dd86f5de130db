// The sqlcommenter tags (route, application) of a statement text, read
// from the comment the trace context came from, or from a trailing comment
// when there was none (tags without a traceparent). Values are looked up by
// key and decoded only when they contain escapes: this runs per statement.
import { Origin } from '../events/layout';

/** The body of the statement's sqlcommenter comment, or null. */
export function commentOf(text: string, origin: number): string | null {
  if (origin === Origin.HEAD) {
    const start = text.indexOf('/*');
    const end = text.indexOf('*/');
    return start >= 0 && end > start ? text.slice(start + 2, end) : null;
  }
  let end = text.length;
  while (end > 0 && (text[end - 1] === ';' || text[end - 1] === ' ' || text[end - 1] === '\n' || text[end - 1] === '\t' || text[end - 1] === '\r')) end--;
  if (end < 4 || text[end - 1] !== '/' || text[end - 2] !== '*') return null;
  const start = text.lastIndexOf('/*', end - 3);
  return start >= 0 ? text.slice(start + 2, end - 2) : null;
}

// routes and applications repeat: decode each distinct value once (bounded)
const decoded = new Map<string, string>();

function decode(v: string): string {
  if (!v.includes('%') && !v.includes('\\')) return v;
  let out = decoded.get(v);
  if (out !== undefined) return out;
  out = v.replace(/\\(.)/g, '$1');
  try {
    out = decodeURIComponent(out);
  } catch {
    // not URL-encoding after all: keep it as written
  }
  if (decoded.size >= 1024) decoded.clear();
  decoded.set(v, out);
  return out;
}

/** The URL-decoded value of `key='…'` in a comment body, or undefined. */
export function tagValue(comment: string, key: string): string | undefined {
  let at = -1;
  for (;;) {
    at = comment.indexOf(`${key}='`, at + 1);
    if (at < 0) return undefined;
    // a whole key: at the start or after a comma (keys are URL-encoded, so no stray commas)
    if (at === 0 || comment[at - 1] === ',' || comment[at - 1] === ' ') break;
  }
  const from = at + key.length + 2;
  let i = from;
  while (i < comment.length && comment[i] !== "'") i += comment[i] === '\\' ? 2 : 1;
  return decode(comment.slice(from, i));
}
