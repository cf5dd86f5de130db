export { SqlLexer, tokenize, isComment, isSpace, MAX_DOLLAR_TAG, type Token, type TokenKind } from './lexer';
export { renderTokens, isMasked } from './render';
export { splitStatements, traceCommentIn, type StatementRange } from './statements';
export { parseTraceparentAt, readTraceparent, isTraceparent, type Traceparent, type TraceparentReading } from './traceparent';
export { findTraceComment, withoutTraceComment, confirmTraceComment, type CommentPlace, type TraceCommentCheck } from './trace-comment';
export { scanSql, type ScanResult } from './comment-placement';
