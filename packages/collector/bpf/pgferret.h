/* Event layouts shared by pgferret.bpf.c and the collector's user space.
 * This header is the single source of truth: the build generates
 * src/events/layout.generated.ts from it (scripts/gen-layout.js), and
 * test/layout.test.ts compiles it and checks the generated table both ways.
 *
 * Every backend of an attached cluster is followed at its socket, in the
 * kernel, with syscall tracepoints (no trap in the backend): the messages a
 * backend receives say which statements carry a sampled traceparent, the
 * messages it sends say how each one ended. Only backends that carry sampled
 * statements get probes in their own memory (per-process uprobes/USDT) to
 * time phases. Records go to one ring buffer, only for sampled statements:
 *   - pf_start: a sampled statement arrives (its text and trace context);
 *   - pf_mark:  a timestamped point (a unit begins executing, a phase
 *               boundary, the end of a request cycle, ...);
 *   - pf_reply: a message the backend sent about a sampled statement
 *               (CommandComplete tag, ErrorResponse fields);
 *   - pf_backend: something user space must act on for one backend
 *               (it was forked; it speaks TLS; it exited mid-cycle);
 *   - pf_wait:  an interval a backend inside a sampled request cycle spent
 *               off CPU, with the wait event it had published;
 *   - pf_lock:  a heavyweight lock wait begins or ends (slow path only);
 *   - pf_usage: what the backend's buffer and WAL counters grew by while
 *               a sampled statement executed;
 *   - pf_nest:  a statement run through SPI (functions, procedures,
 *               triggers, DO) begins or ends inside a sampled statement;
 *   - pf_sample: a CPU-clock sample of a backend inside a sampled request
 *               cycle: its user stack (bpf/profile.bpf.h).
 * Spans are assembled from these in user space (src/spans/assemble.ts).
 */
#ifndef PGFERRET_H
#define PGFERRET_H

#define PF_TEXT_MAX 4096     /* statement text bytes captured per start record */
#define PF_WINDOW 512        /* bytes searched for the traceparent at each end of the text */
#define PF_REPLY_MAX 256     /* bytes of a reply message body sent to user space */
#define PF_UNIT_NONE 0xffffffff
#define PF_USAGE_MAX 192     /* bytes of pgBufferUsage + pgWalUsage per usage record */
#define PF_NEST_TEXT 1024    /* bytes of a nested statement's text per record */
#define PF_WAITS_MAX 4096    /* off-CPU intervals sent per request cycle; more are counted */
#define PF_STACK_MAX 127     /* user frames per CPU sample (the kernel's default perf_event_max_stack) */

enum pf_record_type {
	PF_REC_START = 1,
	PF_REC_MARK = 2,
	PF_REC_REPLY = 3,
	PF_REC_BACKEND = 4,
	PF_REC_WAIT = 5,
	PF_REC_LOCK = 6,
	PF_REC_USAGE = 7,
	PF_REC_NEST = 8,
	PF_REC_SAMPLE = 9,
};

/* What a mark means. Phase marks come from per-backend probes; the probe
 * tables (src/probes/tables.ts) name the program (or USDT cookie) of each. */
enum pf_mark_kind {
	PF_MARK_IDLE = 1,          /* ReadyForQuery sent: value = transaction status ('I','T','E'), unit = first unit of the next cycle */
	PF_MARK_UNIT = 2,          /* an Execute of the most recent sampled Parse was received: unit = its number */
	PF_MARK_PLAN_BEGIN = 3,
	PF_MARK_EXEC_BEGIN = 4,
	PF_MARK_EXEC_END = 5,
	PF_MARK_NAMED_EXEC = 7,    /* an Execute of a named statement parsed in an earlier cycle, sampled as a root: value = hash of its name */
};

/* How the statement came to be traced. */
enum pf_origin {
	PF_ORIGIN_HEAD = 1,        /* traceparent in a comment at the start of the text */
	PF_ORIGIN_TAIL = 2,        /* traceparent in a comment at the end of the text */
	PF_ORIGIN_ROOT = 3,        /* no usable traceparent; sampled as a root span */
};

/* Which protocol message carried the text of a start record. */
enum pf_message {
	PF_MSG_QUERY = 1,          /* simple protocol 'Q': one unit, maybe several statements */
	PF_MSG_PARSE = 2,          /* extended protocol 'P': units follow as PF_MARK_UNIT */
	PF_MSG_NAMED = 3,          /* a named Parse not sampled: its text, for its later executions (PF_MARK_NAMED_EXEC) */
};

/* standard_conforming_strings of the session, read in the backend's memory. */
enum pf_scs {
	PF_SCS_UNKNOWN = 0,        /* not read (the cluster's address of it unknown, or the read failed) */
	PF_SCS_OFF = 1,
	PF_SCS_ON = 2,
};

enum pf_backend_event {
	PF_BACKEND_TLS = 1,        /* the backend negotiated TLS: its socket carries ciphertext (followed at be_tls_read/be_tls_write) */
	PF_BACKEND_EXIT = 2,       /* the backend exited inside a sampled request cycle: no ReadyForQuery will end it */
	PF_BACKEND_GSSENC = 3,     /* the backend negotiated GSSAPI encryption: as TLS, its socket carries ciphertext */
	PF_BACKEND_FORK = 4,       /* a followed postmaster forked it: user space may arm it before its first statement */
};

/* Where a backend's protocol bytes are read (pf_backend_state.crypt). */
enum pf_crypt {
	PF_CRYPT_NONE = 0,         /* at the socket: the exit of recvfrom/sendto */
	PF_CRYPT_TLS = 1,          /* TLS: at PostgreSQL's be_tls_read/be_tls_write (probes attached once per binary) */
	PF_CRYPT_GSS = 2,          /* GSSAPI encryption: at be_gssapi_read/be_gssapi_write (the same programs) */
};

struct pf_header {
	__u32 type;                /* enum pf_record_type */
	__u32 pid;                 /* backend pid (tgid) */
	__u64 ts_ns;               /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
};

struct pf_mark {
	struct pf_header h;
	__u32 kind;                /* enum pf_mark_kind */
	__u32 unit;                /* the unit (Query or Execute, numbered per backend) it belongs to */
	__u64 value;
};

struct pf_reply {
	struct pf_header h;
	__u32 unit;
	__u8 msg;                  /* protocol message type: 'C', 'E', 'I', 's' */
	__u8 _pad;
	__u16 len;                 /* bytes of body[] that follow */
	__u64 query_id;            /* MyBEEntry->st_query_id as the reply was sent, when the unit ended its request cycle (0: not read, or none) */
	char body[PF_REPLY_MAX];   /* only len bytes are sent */
};

struct pf_backend {
	struct pf_header h;
	__u32 event;               /* enum pf_backend_event */
	__u32 ppid;
};

/* Off CPU from begin_ns to h.ts_ns (switched back in). */
struct pf_wait {
	struct pf_header h;
	__u64 begin_ns;
	__u32 event;               /* wait_event_info at switch-out (0: none published) */
	__u8 runnable;             /* preempted: ready to run, waiting for a CPU */
	__u8 _pad[3];
};

enum pf_edge {
	PF_EDGE_BEGIN = 1,
	PF_EDGE_END = 2,
};

/* A heavyweight lock wait (LOCKTAG fields and LOCKMODE, as PostgreSQL's lock.h). */
struct pf_lock {
	struct pf_header h;
	__u32 edge;                /* enum pf_edge */
	__u32 field1, field2, field3;
	__u16 field4;
	__u8 tag_type;
	__u8 mode;
};

/* What pgBufferUsage (buffer_len bytes) then pgWalUsage (wal_len bytes)
 * grew by from execution start to end, as the word-by-word difference of the
 * raw structs: user space decodes it with the layout of the cluster's major.
 * Only buffer_len + wal_len bytes of data[] are sent. It stands for the
 * unit's PF_MARK_EXEC_END mark too (at its timestamp). */
struct pf_usage {
	struct pf_header h;
	__u32 unit;
	__u32 kind;                /* PF_MARK_EXEC_END */
	__u16 buffer_len;
	__u16 wal_len;
	__u32 _pad;
	__u8 data[PF_USAGE_MAX];
};

enum pf_nest_text {
	PF_NEST_TEXT_SENT = 0,     /* text[] holds text_len bytes */
	PF_NEST_TEXT_CAPPED = 1,   /* beyond the per-statement cap: only text_ptr identifies it */
	PF_NEST_TEXT_UNKNOWN = 2,  /* the plan could not be read (layout not verified, magic mismatch) */
};

/* An SPI execution inside a sampled statement. Depth is not counted in the
 * kernel: an error unwinds with longjmp past the return probes, so user
 * space pairs begins and ends by stack pointer. */
struct pf_nest {
	struct pf_header h;
	__u32 unit;
	__u32 edge;                /* enum pf_edge */
	__u64 sp;                  /* stack pointer at entry (at return: entry's + 8) */
	__u64 text_ptr;            /* address of the text: the same plan's text has the same one */
	__u64 rows;                /* END: SPI_processed */
	__s32 result;              /* END: the SPI result code (negative: SPI error) */
	__u16 text_len;
	__u8 text_state;           /* enum pf_nest_text */
	__u8 _pad;
	char text[PF_NEST_TEXT];   /* BEGIN: only text_len bytes are sent */
};

/* One CPU-clock sample: the user stack, innermost frame first (return
 * addresses after the first). Only depth * 8 bytes of ips[] are sent. */
struct pf_sample {
	struct pf_header h;
	__u32 unit;                /* the unit being executed (exec_seq) */
	__u16 depth;               /* frames in ips[] */
	__u16 _pad;
	__u64 ips[PF_STACK_MAX];
};

struct pf_start {
	struct pf_header h;
	__u8 trace_id[16];
	__u8 parent_span_id[8];
	__u8 flags;                /* W3C trace flags from the comment */
	__u8 origin;               /* enum pf_origin */
	__u16 text_len;            /* bytes of text[] that follow (<= PF_TEXT_MAX) */
	__u32 text_total;          /* full length of the statement text */
	__u32 ppid;                /* parent of the backend: its postmaster */
	__u8 malformed;            /* 1 when a traceparent was present but invalid */
	__u8 message;              /* enum pf_message */
	__u8 scs;                  /* enum pf_scs: the session's standard_conforming_strings as the text arrived */
	__u8 _pad;
	__u32 unit;                /* PF_MSG_QUERY: its unit; otherwise PF_UNIT_NONE */
	__u32 name;                /* Parse: hash of the statement name (0: unnamed) */
	char text[PF_TEXT_MAX];    /* only text_len bytes are sent */
};

/* In flight per backend: units received and not yet completed, and request
 * cycles (up to Sync or Query) received and not yet answered. PostgreSQL reads
 * its client into an 8,192-byte buffer (at most 1,638 five-byte messages) and
 * flushes its output at every ReadyForQuery, so what is in flight is bounded
 * by one receive (plus completions still in its 8 KB send buffer); powers of two. */
#define PF_UNITS 2048
#define PF_CYCLES 2048

/* Where the protocol reader of a backend is. */
enum pf_proto {
	PF_PROTO_STARTUP = 0,      /* forked, before its first ReadyForQuery */
	PF_PROTO_PLAIN = 1,        /* followed message by message */
	PF_PROTO_TLS = 2,          /* the socket carries ciphertext: followed from the first plaintext at be_tls_read/be_tls_write (or the GSSAPI pair) */
	PF_PROTO_UNSYNCED = 3,     /* lost the message boundaries: waits for a ReadyForQuery */
};

/* Per-backend state of the protocol reader (the `backends` map). Owned by
 * the kernel; user space only creates entries for backends that existed
 * before the collector attached: all zero but ppid, proto =
 * PF_PROTO_UNSYNCED, out_synced = 1 (an idle backend's next message
 * starts a cycle) and adopted = 1. */
struct pf_backend_state {
	__u32 ppid;
	__u8 proto;                /* enum pf_proto */
	__u8 out_synced;           /* the next byte sent starts a message */
	__u8 crypt_asked;          /* SSLRequest/GSSENCRequest received: the one-byte answer follows */
	__u8 exec_depth;           /* PortalRun nesting (EXECUTE and FETCH run a portal inside one) */
	__u32 in_rem;              /* body bytes still to come of the message being received */
	__u32 out_rem;             /* ... of the message being sent */
	__u8 in_long;              /* the message being received is a Query/Parse decided at its end */
	__u8 stmt_sampled;         /* decision for the statement of the last Parse of this cycle */
	__u8 portal_sampled;       /* ... for the portal of the last Bind */
	__u8 start_unbound;        /* the last sampled Parse has not been executed yet */
	__u32 stmt_name;           /* hash of that Parse's statement name (0: unnamed) */
	__u32 portal_name;         /* hash of that Bind's portal name */
	__u32 portal_stmt;         /* hash of the named statement that Bind bound (parsed in an earlier cycle) */
	__u8 stmt_parsed;          /* stmt_name is of a Parse of this cycle */
	__u8 fd_known;             /* client_fd is known */
	__u8 adopted;              /* created by user space, its first receive not read yet */
	__u8 pend_type;            /* 'P', 'B' or 'E' whose leading names the receive ended in: read on in the next (0: none) */
	__u8 pend_names;           /* names of it still to read (a Parse at 0: its text starts the next receive) */
	__u8 pend_len;             /* bytes of the name being read so far */
	__u8 woke;                 /* a sampled statement here woke the collector once: the next ones need not (it knows the backend wants arming) */
	__u8 counted;              /* counted in sampled_backends (has a sampled cycle open, as of its last recv/send) */
	__u32 in_seq;              /* next unit number to hand out (every Query and Execute is one) */
	__u32 exec_seq;            /* the unit being executed */
	__u32 out_seq;             /* the next unit to complete */
	__u32 out_base;            /* first unit of the cycle being answered */
	__u32 cyc_in, cyc_out;     /* cycles received / answered */
	__u32 open_cycles;         /* cycles received, not yet answered, holding a sampled unit */
	__u8 cur_sampled;          /* the cycle being received holds a sampled unit */
	__u8 in_hdr_have;          /* bytes of a message header that the last receive ended in (1..4; 0: none) */
	__u8 out_hdr_have;         /* ... the last send */
	__u8 phases_seen;          /* a phase probe fired here: the backend is armed (its sampled statements need not wake the collector) */
	__u8 in_hdr[4];            /* those bytes */
	__u8 out_hdr[4];
	__u64 off_ns;              /* switched out inside a sampled cycle at (0: on CPU, or not followed) */
	__u32 off_event;           /* the wait event it had published then */
	__u8 off_runnable;
	__u8 crypt;                /* enum pf_crypt: where its protocol bytes are read */
	__u16 waits;               /* off-CPU intervals sent in this cycle */
	__u32 nest_unit;           /* the unit nest_count counts for */
	__u32 nest_count;          /* SPI executions seen in it */
	__u32 client_fd;           /* the client's socket: the first one the backend received from */
	__u32 pend_hash;           /* FNV-1a of the name being read (once pend_names is 0: the last name's hash) */
	__u32 pend_first;          /* a pending Bind's portal name hash */
	__u32 _pad3;
	__u64 tls_read_buf;        /* be_tls_read's (or be_gssapi_read's) buffer, from its entry to its return (0: none pending) */
	__u64 tls_write_buf;       /* be_tls_write's (or be_gssapi_write's) */
	__u64 sampled[PF_UNITS / 64];        /* bit unit % PF_UNITS: that unit is sampled */
	__u64 query[PF_UNITS / 64];          /* ... that unit is a simple Query */
	__u64 cycle_sampled[PF_CYCLES / 64]; /* bit cycle % PF_CYCLES: that cycle holds a sampled unit */
	__u32 cycle_end[PF_CYCLES];          /* first unit after each cycle received (ring) */
};

/* What the kernel reads in the processes of one cluster (the `postmasters`
 * map, by postmaster pid): addresses of exported globals (the same in every
 * backend: they are forked, not exec'd) and struct offsets of its major
 * version. Zero switches a feature off for that cluster (its layout could
 * not be verified, or --detail says so). The query identifier and
 * standard_conforming_strings are read at the socket whatever --detail says. */
struct pf_cluster {
	__u64 wait_event_ptr;      /* &my_wait_event_info (a uint32 *); PG 13: &MyProc */
	__u32 wait_event_off;      /* where the uint32 is behind that pointer: 0; PG 13: offsetof(PGPROC, wait_event_info) */
	__u32 _pad0;
	__u64 buffer_usage;        /* &pgBufferUsage */
	__u64 wal_usage;           /* &pgWalUsage */
	__u64 spi_processed;       /* &SPI_processed */
	__u32 buffer_size;         /* bytes of pgBufferUsage (buffer_size + wal_size <= PF_USAGE_MAX) */
	__u32 wal_size;
	__u32 plan_magic;          /* _SPI_PLAN_MAGIC (0: nested statements' texts are not read) */
	__u32 plan_list;           /* offset of plancache_list in struct _SPI_plan */
	__u32 list_elements;       /* offset of elements in List */
	__u32 source_magic;        /* CACHEDPLANSOURCE_MAGIC */
	__u32 source_text;         /* offset of query_string in CachedPlanSource */
	__u32 query_id_off;        /* offsetof(PgBackendStatus, st_query_id) (0: the query identifier is not read) */
	__u64 be_entry;            /* &MyBEEntry (a PgBackendStatus *) */
	__u64 scs;                 /* &standard_conforming_strings (a bool) */
};

/* Run-time configuration, one entry of the `settings` array map, written by
 * user space while running (enable switch, root sampling rate). */
struct pf_config {
	__u32 enabled;
	__u32 root_sample_ppm;     /* parts per million of statements without a traceparent */
	__u32 text_max;            /* bytes of text to send per start record (<= PF_TEXT_MAX) */
	__u32 nest_cap;            /* nested statements per statement sent with their text */
	__u32 wake_unarmed;        /* a sampled statement on a backend without phase probes wakes the collector (0: the overhead budget would not arm it now) */
	__u32 wake_locks;          /* a lock wait beginning in a sampled cycle wakes the collector (1: --postgres-url, whose blockers it asks for while the wait lasts) */
};

/* Indexes of the per-CPU `counters` array map. */
enum pf_counter {
	PF_CNT_STARTS = 0,         /* statements (Query or Parse messages) seen at backends' sockets */
	PF_CNT_TRACED = 1,         /* traced with a valid, sampled traceparent */
	PF_CNT_ROOTS = 2,          /* traced as roots (sampling) */
	PF_CNT_UNSAMPLED = 3,      /* valid traceparent with the sampled flag off */
	PF_CNT_MALFORMED = 4,      /* a traceparent that failed validation */
	PF_CNT_DROPPED = 5,        /* records lost because the ring buffer was full */
	PF_CNT_LONG_TEXT = 6,      /* texts spanning several socket reads */
	PF_CNT_DESYNC = 7,         /* socket data the protocol reader could not follow (resynced at the next ReadyForQuery) */
	PF_CNT_TLS = 8,            /* backends that negotiated TLS (or were found speaking it when adopted) */
	PF_CNT_PHASE_HITS = 9,     /* per-backend probe hits (sampled or not) */
	PF_CNT_WAITS_CAPPED = 10,  /* off-CPU intervals not sent: over PF_WAITS_MAX in a cycle */
	PF_CNT_NEST_UNREAD = 11,   /* nested statements whose plan could not be read */
	PF_CNT_GSSENC = 12,        /* backends that negotiated GSSAPI encryption */
	PF_CNT_TLS_HITS = 13,      /* hits of the encrypted read/write probes (entry and return), by any process of the binary */
	PF_CNT_NAMED = 14,         /* Binds of named statements parsed in an earlier cycle (sampled as roots or not) */
	PF_CNT_SAMPLES = 15,       /* CPU samples sent (backends inside a sampled cycle) */
	PF_CNT_SAMPLES_IDLE = 16,  /* CPU samples of armed backends outside sampled cycles: not sent */
	PF_CNT__MAX = 17,
};

#endif
