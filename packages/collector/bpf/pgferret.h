/* Event layouts shared by pgferret.bpf.c and the TypeScript decoder
 * (src/events/layout.ts). This header is the single source of truth: a test
 * compiles it and checks every size and offset against the decoder.
 *
 * The kernel emits two record kinds into one ring buffer, only for backends
 * whose current statement is traced:
 *   - pf_start: a traced request cycle begins (its text and trace context);
 *   - pf_mark:  a timestamped point in that cycle (phase begin/end, rows,
 *               SQLSTATE, commit/abort, back to idle).
 * Spans are assembled from these in user space (src/spans/assemble.ts).
 */
#ifndef PGFERRET_H
#define PGFERRET_H

#define PF_TEXT_MAX 4096     /* statement text bytes captured per start record */
#define PF_WINDOW 512        /* bytes searched for the traceparent at each end of the text */
#define PF_SCAN_CHUNK 4096   /* the text's end is found by reading it in chunks of this size */
#define PF_SCAN_CHUNKS 512   /* ... at most this many: texts up to ~2 MiB have their tail searched */

enum pf_record_type {
	PF_REC_START = 1,
	PF_REC_MARK = 2,
};

/* What a mark means. The probe tables (src/probes/tables.ts) map each
 * USDT probe or function to one of these, passed as the attach cookie. */
enum pf_mark_kind {
	PF_MARK_IDLE = 1,          /* backend reports idle: the request cycle is over */
	PF_MARK_PARSE_BEGIN = 2,
	PF_MARK_PARSE_END = 3,
	PF_MARK_PLAN_BEGIN = 4,
	PF_MARK_PLAN_END = 5,
	PF_MARK_EXEC_BEGIN = 6,
	PF_MARK_EXEC_END = 7,
	PF_MARK_COMMIT_BEGIN = 8,
	PF_MARK_COMMIT_END = 9,
	PF_MARK_ABORT = 10,
	PF_MARK_ROWS = 11,         /* value = rows processed by the statement that just completed */
	PF_MARK_SQLSTATE = 12,     /* value = PostgreSQL's packed SQLSTATE (MAKE_SQLSTATE) */
};

/* How the statement came to be traced. */
enum pf_origin {
	PF_ORIGIN_HEAD = 1,        /* traceparent in a comment at the start of the text */
	PF_ORIGIN_TAIL = 2,        /* traceparent in a comment at the end of the text */
	PF_ORIGIN_ROOT = 3,        /* no usable traceparent; sampled as a root span */
};

struct pf_header {
	__u32 type;                /* enum pf_record_type */
	__u32 pid;                 /* backend pid (tgid) */
	__u64 ts_ns;               /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

struct pf_mark {
	struct pf_header h;
	__u32 kind;                /* enum pf_mark_kind */
	__u32 _pad;
	__u64 value;
};

struct pf_start {
	struct pf_header h;
	__u8 trace_id[16];
	__u8 parent_span_id[8];
	__u8 flags;                /* W3C trace flags from the comment */
	__u8 origin;               /* enum pf_origin */
	__u16 text_len;            /* bytes of text[] that follow (<= PF_TEXT_MAX) */
	__u32 text_total;          /* full length of the statement text (0 when longer than the scan limit) */
	__u32 ppid;                /* parent of the backend: its postmaster */
	__u32 malformed;           /* 1 when a traceparent was present but invalid */
	char text[PF_TEXT_MAX];    /* only text_len bytes are sent */
};

/* Run-time configuration, one entry of the `settings` array map, written by
 * user space while running (enable switch, root sampling rate). */
struct pf_config {
	__u32 enabled;
	__u32 root_sample_ppm;     /* parts per million of statements without a traceparent */
	__u32 text_max;            /* bytes of text to send per start record (<= PF_TEXT_MAX) */
	__u32 filter_ppid;         /* 1: only backends whose parent is in `postmasters` */
};

/* Indexes of the per-CPU `counters` array map. */
enum pf_counter {
	PF_CNT_STARTS = 0,         /* request cycles seen */
	PF_CNT_TRACED = 1,         /* traced with a valid, sampled traceparent */
	PF_CNT_ROOTS = 2,          /* traced as roots (sampling) */
	PF_CNT_UNSAMPLED = 3,      /* valid traceparent with the sampled flag off */
	PF_CNT_MALFORMED = 4,      /* a traceparent that failed validation */
	PF_CNT_DROPPED = 5,        /* records lost because the ring buffer was full */
	PF_CNT_LONG_TEXT = 6,      /* texts longer than the scan limit: tail not searched */
	PF_CNT__MAX = 7,
};

#endif
