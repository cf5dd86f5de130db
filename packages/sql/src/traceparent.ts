// The W3C traceparent inside a sqlcommenter comment
// (`traceparent='00-<trace id>-<parent id>-<flags>'`), validated as the
// kernel validates it: lowercase hex, version ff refused, version 00 exactly
// 55 characters, trace and parent ids not all zero.
import type { Token } from './lexer';

export interface Traceparent {
  version: string;
  traceId: string;
  parentSpanId: string;
  flags: number;
}

/** What a comment says: a valid context, a traceparent that fails validation, or none. */
export type TraceparentReading = Traceparent | 'malformed' | null;

const KEY = "traceparent='";
const VALUE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^']*)?'/;

export function parseTraceparentAt(text: string, at: number): TraceparentReading {
  const m = VALUE.exec(text.slice(at, at + 128));
  if (!m) return 'malformed';
  const [, version, traceId, parentSpanId, flags, rest] = m;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return 'malformed';
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return 'malformed';
  return { version, traceId, parentSpanId, flags: parseInt(flags, 16) };
}

export function isTraceparent(r: TraceparentReading): r is Traceparent {
  return r !== null && r !== 'malformed';
}

/** The first traceparent in a comment token. */
export function readTraceparent(sql: string, comment: Token): TraceparentReading {
  const at = sql.indexOf(KEY, comment.start);
  if (at < 0 || at + KEY.length > comment.end) return null;
  return parseTraceparentAt(sql.slice(0, comment.end), at + KEY.length);
}

const HEX2 = /^[0-9a-f]{2}$/;
const IDS = /^-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const ZEROS = /^0+$/;
const QUOTE = 0x27;

/** True when the comment token holds `traceparent='…'` with exactly these ids and flags. */
export function commentCarries(sql: string, comment: Token, tp: Omit<Traceparent, 'version'>): boolean {
  const flags = tp.flags.toString(16).padStart(2, '0');
  const want = `-${tp.traceId}-${tp.parentSpanId}-${flags}`;
  // what parseTraceparentAt accepts when the value ends right after the flags, checked without reparsing it
  const plainValid = IDS.test(want) && !ZEROS.test(tp.traceId) && !ZEROS.test(tp.parentSpanId);
  const end = comment.end;
  for (let at = sql.indexOf(KEY, comment.start); at >= 0 && at + KEY.length <= end; at = sql.indexOf(KEY, at + 1)) {
    const v = at + KEY.length;
    const after = v + 2 + want.length;
    if (after > end || !sql.startsWith(want, v + 2)) continue;
    if (plainValid && after < end && sql.charCodeAt(after) === QUOTE) {
      const version = sql.slice(v, v + 2);
      if (HEX2.test(version) && version !== 'ff') return true;
    }
    if (isTraceparent(parseTraceparentAt(sql.slice(comment.start, end), v - comment.start))) return true;
  }
  return false;
}
