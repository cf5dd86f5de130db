// Where a trace comment goes. At the end (after the last token that is not
// whitespace or `;`) when the lexer is sure of every literal under each
// reading of standard_conforming_strings that may apply; otherwise at the
// start, where a block comment can never fall inside a literal or another
// comment. A text that already has a comment is left alone (sqlcommenter).
import { isComment, SqlLexer } from './lexer';

export interface ScanResult {
  /** a `--` or `/* *\/` comment outside literals and identifiers */
  hasComment: boolean;
  /** false when the lexer gave up (a literal, identifier or comment left open, or an ambiguous one) */
  complete: boolean;
  /** index just after the last token that is neither whitespace, comment nor `;` (0 if none) */
  end: number;
  /** why the lexer gave up, when it did */
  unsureReason: string | null;
}

export function scanSql(sql: string, standardConformingStrings?: boolean): ScanResult {
  const lx = new SqlLexer(sql, standardConformingStrings);
  let hasComment = false;
  let end = 0;
  while (lx.next()) {
    if (lx.kind === 'unsure') return { hasComment, complete: false, end, unsureReason: lx.unsureReason };
    if (isComment(lx.kind)) hasComment = true;
    else if (lx.kind !== 'space' && lx.kind !== 'semicolon') end = lx.end;
  }
  return { hasComment, complete: true, end, unsureReason: null };
}

/**
 * `tail`: append at `at`; `head`: prepend; `none`: leave the text as it is
 * (`reason` says why: `empty`, `has_comment`).
 */
export type Placement =
  | { where: 'tail'; at: number }
  | { where: 'head'; reason: string }
  | { where: 'none'; reason: 'empty' | 'has_comment' };

/** Where a trace comment may go, for a session whose standard_conforming_strings is known (or not: undefined). */
export function commentPlacement(sql: string, standardConformingStrings?: boolean): Placement {
  const scan = scanSql(sql, standardConformingStrings);
  if (scan.complete) {
    if (scan.end === 0) return { where: 'none', reason: 'empty' };
    if (scan.hasComment) return { where: 'none', reason: 'has_comment' };
    return { where: 'tail', at: scan.end };
  }
  // the end is unsure: a leading block comment is read the same by every reading
  return { where: 'head', reason: scan.unsureReason ?? 'unsure' };
}

/** The text with `comment` placed where commentPlacement says (unchanged for `none`). */
export function placeComment(sql: string, comment: string, standardConformingStrings?: boolean, headComment = comment): { sql: string; placement: Placement } {
  const placement = commentPlacement(sql, standardConformingStrings);
  if (comment === '' || placement.where === 'none') return { sql, placement };
  if (placement.where === 'head') return { sql: `${headComment} ${sql}`, placement };
  return { sql: `${sql.slice(0, placement.at)} ${comment}${sql.slice(placement.at)}`, placement };
}
