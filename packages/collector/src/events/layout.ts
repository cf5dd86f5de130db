// Byte layout of the records in bpf/pgferret.h. Kept in step with the header
// by test/layout.test.ts, which compiles the header and compares every
// offset and size below.

export const RecordType = { START: 1, MARK: 2 } as const;

export const MarkKind = {
  IDLE: 1,
  PARSE_BEGIN: 2,
  PARSE_END: 3,
  PLAN_BEGIN: 4,
  PLAN_END: 5,
  EXEC_BEGIN: 6,
  EXEC_END: 7,
  COMMIT_BEGIN: 8,
  COMMIT_END: 9,
  ABORT: 10,
  ROWS: 11,
  SQLSTATE: 12,
} as const;
export type MarkKind = (typeof MarkKind)[keyof typeof MarkKind];

export const Origin = { HEAD: 1, TAIL: 2, ROOT: 3 } as const;
export type Origin = (typeof Origin)[keyof typeof Origin];

export const Counter = {
  STARTS: 0,
  TRACED: 1,
  ROOTS: 2,
  UNSAMPLED: 3,
  MALFORMED: 4,
  DROPPED: 5,
  LONG_TEXT: 6,
} as const;
export const COUNTER_COUNT = 7;

export const TEXT_MAX = 4096;

export const HEADER = { type: 0, pid: 4, ts_ns: 8, size: 16 } as const;

export const MARK = { kind: 16, value: 24, size: 32 } as const;

export const START = {
  trace_id: 16,
  parent_span_id: 32,
  flags: 40,
  origin: 41,
  text_len: 42,
  text_total: 44,
  ppid: 48,
  malformed: 52,
  text: 56,
  size: 56 + TEXT_MAX,
} as const;

export const CONFIG = { enabled: 0, root_sample_ppm: 4, text_max: 8, filter_ppid: 12, size: 16 } as const;
