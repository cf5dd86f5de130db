// sqlcommenter serialization lives in @pgferret/sql, beside the lexer the
// collector reads comments back with; placement is the lexer's call too.
import { formatComment, placeComment, type Placement, type Tags } from '@pgferret/sql';

export { encodeTagPart, serializePair, joinPairs, formatComment, MAX_TAG_LENGTH, type TagValue, type Tags } from '@pgferret/sql';

/**
 * Puts a formatted comment after the last statement, before any trailing `;`
 * and whitespace; at the start instead when the lexer is unsure where the
 * text ends (`headComment`, when given, is the form used there). Returns the
 * SQL unchanged when it is empty or already has a comment.
 * `standardConformingStrings`: the session's setting when known.
 */
export function insertComment(sql: string, comment: string, standardConformingStrings?: boolean, headComment?: string): string {
  return placeComment(sql, comment, standardConformingStrings, headComment).sql;
}

/** insertComment, also saying where the comment went (or why nowhere). */
export function insertCommentAt(sql: string, comment: string, standardConformingStrings?: boolean, headComment?: string): { sql: string; placement: Placement } {
  return placeComment(sql, comment, standardConformingStrings, headComment);
}

export function addComment(sql: string, tags: Tags, standardConformingStrings?: boolean): string {
  return insertComment(sql, formatComment(tags), standardConformingStrings, formatComment(tags, true));
}
