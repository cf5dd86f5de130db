// sqlcommenter serialization (google/sqlcommenter spec): URL-encode key and
// value, escape ' as \', single-quote the value, sort the serialized pairs in
// code-unit order, join with `,`. encodeURIComponent turns `/` into %2F, so no
// value can open or close a comment; Postgres nests comments, so a stray `/*`
// would otherwise swallow the rest of the statement.
import { scanSql } from '@pgferret/sql';

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
  // toWellFormed replaces lone surrogates (encodeURIComponent throws on them)
  if (text.length > MAX_TAG_LENGTH) text = text.slice(0, MAX_TAG_LENGTH);
  return encodeURIComponent(text.toWellFormed()).replace(/'/g, "\\'");
}

/** `key='value'`, or undefined when the key or value is dropped. */
export function serializePair(key: string, value: TagValue): string | undefined {
  const k = encodeTagPart(key);
  const v = encodeTagPart(value);
  return k === undefined || v === undefined ? undefined : `${k}='${v}'`;
}

/** Joins serialized pairs as the spec says; '' for none. Sorts `pairs` in place. */
export function joinPairs(pairs: string[]): string {
  if (pairs.length === 0) return '';
  pairs.sort(); // default sort compares UTF-16 code units
  return `/*${pairs.join(',')}*/`;
}

/** The `/*k='v',…*\/` comment for these tags, or '' when no tag survives. */
export function formatComment(tags: Tags): string {
  const pairs: string[] = [];
  for (const key of Object.keys(tags)) {
    const pair = serializePair(key, tags[key]);
    if (pair !== undefined) pairs.push(pair);
  }
  return joinPairs(pairs);
}

/**
 * Puts a formatted comment after the last statement, before any trailing `;`
 * and whitespace. Returns the SQL unchanged when it is empty, already has a
 * comment, or leaves a literal open (a quote in the comment could close it).
 */
export function insertComment(sql: string, comment: string): string {
  if (comment === '') return sql;
  const scan = scanSql(sql);
  if (scan.hasComment || !scan.complete || scan.end === 0) return sql;
  return `${sql.slice(0, scan.end)} ${comment}${sql.slice(scan.end)}`;
}

export function addComment(sql: string, tags: Tags): string {
  return insertComment(sql, formatComment(tags));
}
