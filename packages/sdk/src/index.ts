export { instrument, uninstrument } from './instrument';
export { PgFerretInstrumentation, type PgFerretInstrumentationConfig } from './pg/instrumentation';
export type { PgFerretOptions } from './options';
export type { TraceparentMode } from './trace/traceparent';
export { formatComment, addComment, type Tags, type TagValue } from './comment/format';
export { scanSql, type ScanResult } from '@pgferret/sql';
export { withTags, withoutComment } from './context/tags';
export { pgferretExpress, expressRoute, type PgferretExpressOptions, type ExpressLikeRequest } from './context/express';
export { prismaTraceComments, type PrismaCommenterPlugin, type PrismaCommenterContext, type PrismaCommenterTags } from './prisma/comments-plugin';
