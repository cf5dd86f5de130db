// sqlcommenter comments, written and read in one place (google/sqlcommenter
// spec): URL-encode key and value, escape ' as \', single-quote the value,
// sort the serialized pairs in code-unit order, join with `,`.
// encodeURIComponent turns `/` into %2F, so no value can open or close a
// comment; PostgreSQL nests comments, so a stray `/*` would otherwise swallow
// the rest of the statement. Readers find the comment with the lexer (the
// head or tail block comment), never by searching the text for `/*`.
import type { Token } from './lexer';
import { findTraceComment, readings, type CommentPlace } from './trace-comment';

export type TagValue = string | number | boolean | null | undefined;
export type Tags = Readonly<Record<string, TagValue>>;

/** Longer keys and values are cut (before encoding) so one tag cannot bloat every query. */
export const MAX_TAG_LENGTH = 512;

/** The text of a tag as it goes on the wire, or undefined when the value is dropped. */
export function encodeTagPart(value: TagValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return undefined;
  let text = String(value);
  if (text.length === 0) return undefined;
  if (text.length > MAX_TAG_LENGTH) text = text.slice(0, MAX_TAG_LENGTH);
  // toWellFormed replaces lone surrogates (encodeURIComponent throws on them)
  return encodeURIComponent(text.toWellFormed()).replace(/'/g, "\\'");
}

/** `key='value'`, or undefined when the key or value is dropped. */
export function serializePair(key: string, value: TagValue): string | undefined {
  const k = encodeTagPart(key);
  const v = encodeTagPart(value);
  return k === undefined || v === undefined ? undefined : `${k}='${v}'`;
}

const TRACE_KEYS = /^trace(parent|state)='/;

/**
 * Joins serialized pairs as the spec says; '' for none. Sorts `pairs` in
 * place. `traceFirst` puts traceparent and tracestate first (for a leading
 * comment: the kernel reads the first 512 bytes of a text, and long tags
 * must not push the context out of them).
 */
export function joinPairs(pairs: string[], traceFirst = false): string {
  if (pairs.length === 0) return '';
  pairs.sort(); // default sort compares UTF-16 code units
  if (traceFirst) {
    const trace = pairs.filter((p) => TRACE_KEYS.test(p));
    if (trace.length > 0) return `/*${[...trace, ...pairs.filter((p) => !TRACE_KEYS.test(p))].join(',')}*/`;
  }
  return `/*${pairs.join(',')}*/`;
}

/** The `/*k='v',…*\/` comment for these tags, or '' when no tag survives. */
export function formatComment(tags: Tags, traceFirst = false): string {
  const pairs: string[] = [];
  for (const key of Object.keys(tags)) {
    const pair = serializePair(key, tags[key]);
    if (pair !== undefined) pairs.push(pair);
  }
  return joinPairs(pairs, traceFirst);
}

// routes and applications repeat: decode each distinct value once (bounded)
const decoded = new Map<string, string>();

/** A value or key as written in a comment, unescaped and URL-decoded (kept as written when not URL-encoding). */
export function decodeTagPart(v: string): string {
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

/** The text between `/*` and `*\/` of a block comment token. */
export function commentBody(sql: string, comment: Token): string {
  return sql.slice(comment.start + 2, comment.end - 2);
}

/** The URL-decoded value of `key='…'` in a comment body, or undefined. */
export function tagValue(body: string, key: string): string | undefined {
  // keys go on the wire URL-encoded too
  if (!/^[A-Za-z0-9_.~-]*$/.test(key)) key = encodeTagPart(key) ?? key;
  let at = -1;
  for (;;) {
    at = body.indexOf(`${key}='`, at + 1);
    if (at < 0) return undefined;
    // a whole key: at the start or after a comma (keys are URL-encoded, so no stray commas)
    const before = body[at - 1];
    if (at === 0 || before === ',' || before === ' ') break;
  }
  const from = at + key.length + 2;
  let i = from;
  while (i < body.length && body[i] !== "'") i += body[i] === '\\' ? 2 : 1;
  return decodeTagPart(body.slice(from, i));
}

/** Every `key='value'` of a comment body, decoded; pairs that do not parse are skipped. */
export function parseTags(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /\s*([^=,'\s]+)='((?:[^'\\]|\\.)*)'\s*(?:,|$)/gy;
  for (let m = re.exec(body); m; m = re.exec(body)) out[decodeTagPart(m[1])] = decodeTagPart(m[2]);
  return out;
}

/**
 * The body of the sqlcommenter comment at the head or tail of a text, found
 * by the lexer (under the session's setting, or either reading when unknown).
 */
export function sqlcommenterBody(sql: string, where: CommentPlace, standardConformingStrings?: boolean): string | null {
  const tries = where === 'head' ? [standardConformingStrings] : readings(standardConformingStrings);
  for (const scs of tries) {
    const c = findTraceComment(sql, where, scs);
    if (c) return commentBody(sql, c);
  }
  return null;
}
