export { SqlLexer, tokenize, isComment, isSpace, type Token, type TokenKind } from './lexer';
export { renderTokens, isMasked } from './render';
export { splitStatements, traceCommentIn, type StatementRange } from './statements';
export { parseTraceparentAt, readTraceparent, isTraceparent, type Traceparent, type TraceparentReading } from './traceparent';
export { findTraceComment, withoutTraceComment, confirmTraceComment, checkTraceComment, readings, type CommentPlace, type TraceCommentCheck } from './trace-comment';
export { scanSql, commentPlacement, placeComment, type ScanResult, type Placement } from './comment-placement';
export {
  encodeTagPart, serializePair, joinPairs, formatComment, decodeTagPart, commentBody, tagValue, parseTags, sqlcommenterBody, MAX_TAG_LENGTH,
  type TagValue, type Tags,
} from './sqlcommenter';
export { statementFingerprint, normalizeStatement, FINGERPRINT_TEXT_MAX, type StatementFingerprint } from './fingerprint';
