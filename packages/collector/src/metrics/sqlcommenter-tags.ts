// The sqlcommenter tags (route, application, controller, ...) of a statement
// text, read from the comment the trace context came from, or from a
// trailing comment when there was none (tags without a traceparent).
import { Origin } from '../events/layout';

export type Tags = Record<string, string>;

const PAIR = /([^=,\s]+)='((?:[^'\\]|\\.)*)'/g;

function commentOf(text: string, origin: number): string | null {
  if (origin === Origin.HEAD) {
    const start = text.indexOf('/*');
    const end = text.indexOf('*/');
    return start >= 0 && end > start ? text.slice(start + 2, end) : null;
  }
  const trimmed = text.replace(/[\s;]+$/, '');
  if (!trimmed.endsWith('*/')) return null;
  const start = trimmed.lastIndexOf('/*');
  return start >= 0 ? trimmed.slice(start + 2, -2) : null;
}

function decode(v: string): string {
  const unescaped = v.replace(/\\(.)/g, '$1');
  try {
    return decodeURIComponent(unescaped);
  } catch {
    return unescaped; // not URL-encoded after all: keep it as written
  }
}

/** The key='value' pairs of the statement's sqlcommenter comment (keys and values URL-decoded). */
export function sqlcommenterTags(text: string, origin: number): Tags {
  const comment = commentOf(text, origin);
  const tags: Tags = {};
  if (!comment) return tags;
  for (const m of comment.matchAll(PAIR)) tags[decode(m[1])] = decode(m[2]);
  return tags;
}
