// Every attribute pgferret puts on its spans, defined once: its name, type,
// the spans that carry it and what it means. Span building, the web UI
// (served as /attributes.js), the demo's text waterfall and the table in
// docs/inside-execute.md take their names from here; tests fail where a name
// is still spelled out elsewhere, or where the table and this list differ.
// Renaming an attribute is changing its `name` here (and the docs row).

export type AttributeType = 'string' | 'int' | 'double' | 'boolean' | 'string[]' | 'int[]' | 'double[]';
/** The spans that carry it: see docs/inside-execute.md for each kind. */
export type SpanOf = 'statement' | 'phase' | 'wait' | 'lock wait' | 'link' | 'nested' | 'profile event';

export interface AttributeSpec {
  name: string;
  type: AttributeType;
  on: readonly SpanOf[];
  meaning: string;
}

export const ATTRIBUTES = {
  dbSystemName: { name: 'db.system.name', type: 'string', on: ['statement', 'phase', 'nested'], meaning: '`postgresql`' },
  dbQueryText: { name: 'db.query.text', type: 'string', on: ['statement', 'nested'], meaning: 'the statement text, literals masked (unless `--raw-query-text`)' },
  dbNamespace: { name: 'db.namespace', type: 'string', on: ['statement'], meaning: 'the database' },
  dbOperationName: { name: 'db.operation.name', type: 'string', on: ['statement'], meaning: '`SELECT`, `UPDATE`, …' },
  dbCollectionName: { name: 'db.collection.name', type: 'string', on: ['statement'], meaning: 'the table it names first' },
  dbResponseReturnedRows: { name: 'db.response.returned_rows', type: 'int', on: ['statement', 'nested'], meaning: 'rows returned or affected (nested aggregate: the sum)' },
  dbResponseStatusCode: { name: 'db.response.status_code', type: 'string', on: ['statement'], meaning: 'SQLSTATE of a failed statement' },
  errorType: { name: 'error.type', type: 'string', on: ['statement'], meaning: 'SQLSTATE of a failed statement' },
  backendPid: { name: 'postgresql.backend.pid', type: 'int', on: ['statement', 'link'], meaning: 'the backend process (on a blocker link: the blocker\'s)' },
  backendUser: { name: 'postgresql.backend.user', type: 'string', on: ['statement'], meaning: 'the role the backend runs as' },
  queryId: { name: 'db.postgresql.query_id', type: 'string', on: ['statement'], meaning: 'PostgreSQL\'s query identifier as `pg_stat_statements.queryid` and `pg_stat_activity.query_id` show it (signed decimal): PG 14+ with `compute_query_id` in effect, on the last statement of a request cycle (the extended protocol\'s up to Sync), not on the statements of a multi-statement string; absent where PostgreSQL published none' },
  statementIndex: { name: 'postgresql.statement.index', type: 'int', on: ['statement'], meaning: 'position in a multi-statement string (1 for the second, …)' },
  traceContextOrigin: { name: 'pgferret.trace_context.origin', type: 'string', on: ['statement'], meaning: '`comment_start`, `comment_end`, `sampled_root` or `rejected_not_in_comment`' },
  traceContextMalformed: { name: 'pgferret.trace_context.malformed', type: 'boolean', on: ['statement'], meaning: 'the traceparent could not be used' },
  traceContextConfidence: { name: 'pgferret.trace_context.confidence', type: 'string', on: ['statement'], meaning: '`confirmed`: the lexer places the traceparent in a real comment; `unconfirmed`: it cannot tell (a cut text, a literal that never ends), the context is kept' },
  queryTextTruncated: { name: 'pgferret.query_text.truncated', type: 'boolean', on: ['statement'], meaning: 'the text was cut at `--max-query-text`' },
  queryTextLength: { name: 'pgferret.query_text.length', type: 'int', on: ['statement'], meaning: 'the full text\'s length in bytes, when truncated' },
  incomplete: { name: 'pgferret.incomplete', type: 'boolean', on: ['statement'], meaning: 'no completion was seen (pipeline aborted, backend gone, records lost)' },
  phasesUntimed: { name: 'pgferret.phases.untimed', type: 'boolean', on: ['statement'], meaning: 'it ran before its backend had phase probes' },
  detailShed: { name: 'pgferret.detail', type: 'string', on: ['statement'], meaning: 'why it has no phases nor detail from inside them: `budget` (the overhead budget, `--max-overhead`, kept its backend unarmed), `late` (its backend\'s probes were not in place yet), `off` (`--detail statement`, or the kernel refused the phase programs)' },
  plan: { name: 'postgresql.plan', type: 'string', on: ['statement'], meaning: '`EXPLAIN` of a slow statement (with `--postgres-url`)' },
  planGeneric: { name: 'postgresql.plan.generic', type: 'boolean', on: ['statement'], meaning: 'the plan is a generic one (text with `$n` parameters)' },
  planExplainedAt: { name: 'postgresql.plan.explained_at', type: 'string', on: ['statement'], meaning: 'when the plan was asked for (ISO 8601)' },
  planSkipped: { name: 'postgresql.plan.skipped', type: 'string', on: ['statement'], meaning: 'why a slow statement has no plan' },
  cpuOnMs: { name: 'pgferret.cpu.on_ms', type: 'double', on: ['statement'], meaning: 'time the backend was on CPU during the statement' },
  cpuOffMs: { name: 'pgferret.cpu.off_ms', type: 'double', on: ['statement'], meaning: 'time off CPU (sum of all waits)' },
  buffersSharedHit: { name: 'postgresql.buffers.shared.hit', type: 'int', on: ['statement'], meaning: '`EXPLAIN (BUFFERS)` counters of its execution; present whenever usage was measured' },
  buffersSharedRead: { name: 'postgresql.buffers.shared.read', type: 'int', on: ['statement'], meaning: 'present whenever usage was measured' },
  buffersSharedDirtied: { name: 'postgresql.buffers.shared.dirtied', type: 'int', on: ['statement'], meaning: '' },
  buffersSharedWritten: { name: 'postgresql.buffers.shared.written', type: 'int', on: ['statement'], meaning: '' },
  buffersLocalHit: { name: 'postgresql.buffers.local.hit', type: 'int', on: ['statement'], meaning: '' },
  buffersLocalRead: { name: 'postgresql.buffers.local.read', type: 'int', on: ['statement'], meaning: '' },
  buffersLocalDirtied: { name: 'postgresql.buffers.local.dirtied', type: 'int', on: ['statement'], meaning: '' },
  buffersLocalWritten: { name: 'postgresql.buffers.local.written', type: 'int', on: ['statement'], meaning: '' },
  buffersTempRead: { name: 'postgresql.buffers.temp.read', type: 'int', on: ['statement'], meaning: '' },
  buffersTempWritten: { name: 'postgresql.buffers.temp.written', type: 'int', on: ['statement'], meaning: '' },
  ioSharedReadMs: { name: 'postgresql.io.shared.read_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing` (PG 13–16 call it `blk_read_time`)' },
  ioSharedWriteMs: { name: 'postgresql.io.shared.write_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing`' },
  ioLocalReadMs: { name: 'postgresql.io.local.read_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing`, PG 17+' },
  ioLocalWriteMs: { name: 'postgresql.io.local.write_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing`, PG 17+' },
  ioTempReadMs: { name: 'postgresql.io.temp.read_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing`, PG 15+' },
  ioTempWriteMs: { name: 'postgresql.io.temp.write_ms', type: 'double', on: ['statement'], meaning: 'only with `track_io_timing`, PG 15+' },
  walRecords: { name: 'postgresql.wal.records', type: 'int', on: ['statement'], meaning: 'WAL records generated; present whenever usage was measured' },
  walFpi: { name: 'postgresql.wal.fpi', type: 'int', on: ['statement'], meaning: 'WAL full-page images' },
  walBytes: { name: 'postgresql.wal.bytes', type: 'int', on: ['statement'], meaning: 'WAL bytes' },
  walBuffersFull: { name: 'postgresql.wal.buffers_full', type: 'int', on: ['statement'], meaning: 'PG 18+' },
  nestedCount: { name: 'pgferret.nested.count', type: 'int', on: ['statement'], meaning: 'statements run inside it by functions, procedures, triggers, DO' },
  nestedAggregated: { name: 'pgferret.nested.aggregated', type: 'int', on: ['statement'], meaning: 'of those, how many were folded into aggregate spans (beyond `--nested-cap`)' },
  profileSamples: { name: 'pgferret.profile.samples', type: 'int', on: ['statement'], meaning: 'CPU-clock samples of its backend while it ran (`--profile-hz`)' },
  profileHz: { name: 'pgferret.profile.hz', type: 'int', on: ['statement'], meaning: 'samples per second of CPU time' },
  profileLateMs: { name: 'pgferret.profile.late_ms', type: 'double', on: ['statement'], meaning: 'the profile starts this far into the statement: the collector switches a backend\'s clock on when it reads the statement\'s start, and was busy (absent: on time, within 1 ms)' },
  profileSummary: { name: 'pgferret.profile.summary', type: 'string', on: ['statement'], meaning: 'the plan node most samples were in: `62 % in Hash Join (ExecScanHashBucket)`' },
  profileNodes: { name: 'pgferret.profile.plan_nodes', type: 'string[]', on: ['statement'], meaning: 'plan nodes (as EXPLAIN names them) by samples, at most 5' },
  profileNodeSamples: { name: 'pgferret.profile.plan_nodes.samples', type: 'int[]', on: ['statement'], meaning: 'samples of each' },
  profileWholeStacks: { name: 'pgferret.profile.whole_stacks', type: 'int', on: ['statement'], meaning: 'samples whose stack was walked up to `PostgresMain` (the rest stop short: a build without frame pointers, a leaf in a library built without them); plan nodes come from whole stacks' },
  profileTopSelf: { name: 'pgferret.profile.top_self', type: 'string[]', on: ['statement'], meaning: 'functions by self time (innermost frame), at most 5' },
  profileTopSelfSamples: { name: 'pgferret.profile.top_self.samples', type: 'int[]', on: ['statement'], meaning: 'samples of each' },
  profileTopInclusive: { name: 'pgferret.profile.top_inclusive', type: 'string[]', on: ['statement'], meaning: 'functions by inclusive time (anywhere on the stack), at most 5' },
  profileTopInclusiveSamples: { name: 'pgferret.profile.top_inclusive.samples', type: 'int[]', on: ['statement'], meaning: 'samples of each' },
  profileFolded: { name: 'pgferret.profile.folded', type: 'string', on: ['profile event'], meaning: 'folded stacks (`root;…;leaf count` per line), heaviest first, at most 16 KiB' },
  profileTruncated: { name: 'pgferret.profile.truncated', type: 'boolean', on: ['profile event'], meaning: 'lighter stacks were left out of `folded` (the embedded store keeps them all)' },
  phase: { name: 'postgresql.phase', type: 'string', on: ['phase'], meaning: '`parse`, `plan`, `execute` or `commit`' },
  waitsEvents: { name: 'pgferret.waits.events', type: 'string[]', on: ['phase', 'statement'], meaning: 'waits shorter than `--wait-threshold`, per event: `LWLock:WALWrite`, …' },
  waitsCounts: { name: 'pgferret.waits.counts', type: 'int[]', on: ['phase', 'statement'], meaning: 'how many of each' },
  waitsTotalMs: { name: 'pgferret.waits.total_ms', type: 'double[]', on: ['phase', 'statement'], meaning: 'their total time' },
  waitEventType: { name: 'postgresql.wait_event.type', type: 'string', on: ['wait'], meaning: 'as `pg_stat_activity.wait_event_type`: `IO`, `Lock`, `CPU` (preempted), `Other` (no event set)' },
  waitEventName: { name: 'postgresql.wait_event.name', type: 'string', on: ['wait'], meaning: 'as `pg_stat_activity.wait_event`: `DataFileRead`, `Runnable`, `OffCPU`, …' },
  lockType: { name: 'postgresql.lock.type', type: 'string', on: ['lock wait'], meaning: '`transactionid`, `relation`, `tuple`, …' },
  lockMode: { name: 'postgresql.lock.mode', type: 'string', on: ['lock wait'], meaning: '`ShareLock`, `AccessExclusiveLock`, …' },
  lockDatabaseOid: { name: 'postgresql.lock.database.oid', type: 'int', on: ['lock wait'], meaning: '' },
  lockRelationOid: { name: 'postgresql.lock.relation.oid', type: 'int', on: ['lock wait'], meaning: '' },
  lockRelationName: { name: 'postgresql.lock.relation.name', type: 'string', on: ['lock wait'], meaning: '`public.inventory` (with `--postgres-url`)' },
  lockPage: { name: 'postgresql.lock.page', type: 'int', on: ['lock wait'], meaning: '' },
  lockTuple: { name: 'postgresql.lock.tuple', type: 'int', on: ['lock wait'], meaning: '' },
  lockTransactionId: { name: 'postgresql.lock.transaction_id', type: 'int', on: ['lock wait'], meaning: '' },
  lockBlockerPids: { name: 'postgresql.lock.blocker.pids', type: 'int[]', on: ['lock wait'], meaning: 'the backends holding it (with `--postgres-url`)' },
  lockBlockerApplicationName: { name: 'postgresql.lock.blocker.application_name', type: 'string', on: ['lock wait'], meaning: 'the first blocker\'s' },
  lockBlockerQuery: { name: 'postgresql.lock.blocker.query', type: 'string', on: ['lock wait'], meaning: 'the first blocker\'s statement, masked' },
  lockBlockerState: { name: 'postgresql.lock.blocker.state', type: 'string', on: ['lock wait'], meaning: '`active`, `idle in transaction`, …' },
  lockBlockerUnknown: { name: 'pgferret.lock.blocker.unknown', type: 'string', on: ['lock wait'], meaning: 'why the blockers are not named' },
  linkType: { name: 'pgferret.link.type', type: 'string', on: ['link'], meaning: '`lock_blocker`: the link goes to the blocker\'s sampled statement' },
  nestingDepth: { name: 'postgresql.nesting.depth', type: 'int', on: ['nested'], meaning: '1 = run by the top statement' },
  nestedTextUnavailable: { name: 'pgferret.nested.text_unavailable', type: 'boolean', on: ['nested'], meaning: 'its text could not be read' },
  nestedAggregate: { name: 'pgferret.nested.aggregate', type: 'boolean', on: ['nested'], meaning: 'one span for all runs of a text beyond `--nested-cap`' },
  nestedCalls: { name: 'pgferret.nested.calls', type: 'int', on: ['nested'], meaning: 'runs folded into the aggregate' },
  nestedTotalMs: { name: 'pgferret.nested.total_ms', type: 'double', on: ['nested'], meaning: 'their total time' },
  nestedFailedCalls: { name: 'pgferret.nested.failed_calls', type: 'int', on: ['nested'], meaning: 'of those, how many failed' },
} as const satisfies Record<string, AttributeSpec>;

export type AttributeKey = keyof typeof ATTRIBUTES;

/** The names, to write and read attributes with: `attrs[A.cpuOnMs]`. */
export const A = Object.freeze(Object.fromEntries(Object.entries(ATTRIBUTES).map(([k, v]) => [k, v.name]))) as {
  readonly [K in AttributeKey]: (typeof ATTRIBUTES)[K]['name'];
};

/** /attributes.js: the names as an ES module, so the UI spells none of them itself. */
export const ATTRIBUTES_MODULE = `export const A = Object.freeze(${JSON.stringify(A)});\n`;
