// SPDX-License-Identifier: GPL-2.0
/* The kernel half of pgferret.
 *
 * The gate: every backend of an attached cluster is followed at its socket
 * with the sys_exit tracepoint, which costs a backend no trap. What it
 * receives (Query, Parse/Bind/Execute, Sync) says which statements carry a
 * sampled traceparent (read from the message in the receive buffer); what it
 * sends (CommandComplete, ErrorResponse, ReadyForQuery) says how each of them
 * ended. Only sampled statements produce records.
 *
 * Phases: user space attaches a few probes to the backends that carry
 * sampled statements, in those processes only (pid-filtered uprobes/USDT).
 * They time plan and execute for the unit being executed and stay silent
 * for the others.
 *
 * Units: each Query and each Execute a backend receives gets the next
 * number. Input hands them out, the phase probes follow the one executing,
 * output completes them in order, and ReadyForQuery ends a request cycle.
 *
 * Everything is bounded: fixed-size records, bpf_loop with constant limits,
 * per-CPU scratch space, drops and lost protocol sync counted.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "pgferret.h"
#include "traceparent.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* PostgreSQL reads its client with recv() and writes with send()
 * (secure_raw_read/secure_raw_write). Syscall numbers and the register that
 * holds the number at sys_exit differ per architecture (docs/arm64.md). */
#if defined(__TARGET_ARCH_arm64)
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
#else
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#endif

/* Startup packet codes (PostgreSQL's pqcomm.h). */
#define SSL_REQUEST_CODE 80877103
#define GSSENC_REQUEST_CODE 80877104

#define MAX_MSG_LEN 0x3fffffff  /* PostgreSQL refuses larger messages */
#define IN_MSGS 64               /* messages followed per receive */
#define OUT_MSGS 128             /* messages followed per send */
#define NAME_MAX 64              /* NAMEDATALEN */
#define LONG_WIN 1024            /* bytes kept of the end of a message spanning receives */
#define PARAMS_MAX 64            /* parameter types a Parse may declare for its text end to be found */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct pf_backend_state);
} backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_config);
} settings SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PF_CNT__MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Postmaster pids whose children are followed, with what to read in them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct pf_cluster);
} postmasters SEC(".maps");

/* A Query or Parse whose text spans several receives: its start record
 * (with the head of the text) and the last bytes received so far. */
struct long_msg {
	struct pf_start start;
	char win[LONG_WIN];
	__u32 win_len;
	__u32 body;          /* message body length */
	__u32 name_len;      /* Parse: statement name with its NUL */
	__u32 name_hash;
	__u32 head_len;      /* text bytes captured in start.text */
	__u32 unit;          /* Query: its unit */
	__u8 msg;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct long_msg);
} long_msgs SEC(".maps");

/* The counters at execution start, per backend, until its end. */
struct usage_begin {
	__u32 unit;
	__u32 _pad;
	__u64 words[PF_USAGE_MAX / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct usage_begin);
} usage_begins SEC(".maps");

struct scratch {
	struct pf_start start;     /* head of the text lands in start.text */
	char tail[PF_TEXT_MAX];    /* last PF_WINDOW bytes of the text (4 KiB: masked indexes) */
	char tmp[2 * LONG_WIN];
	char name[2 * NAME_MAX];
	struct pf_reply reply;
	struct long_msg fresh;
	struct pf_usage usage;
	struct pf_nest nest;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

/* x & m, with the AND kept in the object: clang drops a mask it can prove
 * redundant, and the verifier then sees an unbounded size. */
#define BOUND(x, m) ({ __u32 __v = (x); barrier_var(__v); __v &= (m); __v; })

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline struct scratch *scratch(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&scratch_space, &zero);
}

static __always_inline __u32 be32(const __u8 *p)
{
	return ((__u32)p[0] << 24) | ((__u32)p[1] << 16) | ((__u32)p[2] << 8) | p[3];
}

/* ---- units ---------------------------------------------------------------- */

static __always_inline int unit_bit(__u64 mask, __u32 unit)
{
	return (mask >> (unit & 63)) & 1;
}

static __always_inline void set_bit(__u64 *mask, __u32 unit, int on)
{
	__u64 bit = 1ULL << (unit & 63);
	if (on)
		*mask |= bit;
	else
		*mask &= ~bit;
}

/* Whether any unit in [from, to) is sampled. */
static __always_inline int any_sampled(struct pf_backend_state *b, __u32 from, __u32 to)
{
	__u32 n = to - from;
	if (n == 0)
		return 0;
	if (n >= 64)
		return b->sampled != 0;
	__u64 m = (1ULL << n) - 1;
	__u32 r = from & 63;
	m = (m << r) | (r ? m >> (64 - r) : 0);
	return (b->sampled & m) != 0;
}

static __always_inline __u32 push_unit(struct pf_backend_state *b, int sampled, int query)
{
	__u32 u = b->in_seq++;
	set_bit(&b->sampled, u, sampled);
	set_bit(&b->query, u, query);
	return u;
}

/* A Sync or a Query ends a request cycle on the input side. */
static __always_inline void end_cycle_in(struct pf_backend_state *b)
{
	b->stmt_sampled = 0;
	b->portal_sampled = 0;
	if (b->cyc_in - b->cyc_out >= PF_CYCLES) {
		count(PF_CNT_DESYNC); /* too deep a pipeline: the next ReadyForQuery closes all */
		return;
	}
	b->cycle_end[b->cyc_in & (PF_CYCLES - 1)] = b->in_seq;
	b->cyc_in++;
}

/* ---- records -------------------------------------------------------------- */

/* Wakeups: records never wake the collector, which drains the ring on a
 * timer (every few ms while records come): a wakeup costs the backend that
 * makes it (~7 µs measured for one per request cycle), and the collector,
 * woken per record at low rates, preempted the very backend it traced. Only
 * what it must act on at once wakes it: a lock wait (its blocker is asked
 * for) and a backend event. */
#define BATCHED BPF_RB_NO_WAKEUP
#define WAKE BPF_RB_FORCE_WAKEUP

/* A fixed-size record with its header filled in, or NULL (counted as dropped). */
#define RECORD(type_, rec_type, pid_, ts_) ({                           \
	type_ *__r = bpf_ringbuf_reserve(&events, sizeof(type_), 0);     \
	if (__r) {                                                       \
		__r->h.type = (rec_type);                                \
		__r->h.pid = (pid_);                                     \
		__r->h.ts_ns = (ts_);                                    \
	} else {                                                         \
		count(PF_CNT_DROPPED);                                   \
	}                                                                \
	__r;                                                             \
})

static __always_inline void emit_mark(__u32 pid, __u32 kind, __u32 unit, __u64 value)
{
	struct pf_mark *m = RECORD(struct pf_mark, PF_REC_MARK, pid, bpf_ktime_get_ns());
	if (!m)
		return;
	m->kind = kind;
	m->unit = unit;
	m->value = value;
	bpf_ringbuf_submit(m, BATCHED);
}

static __always_inline void emit_backend(__u32 pid, __u32 ppid, __u32 event)
{
	struct pf_backend *r = RECORD(struct pf_backend, PF_REC_BACKEND, pid, bpf_ktime_get_ns());
	if (!r)
		return;
	r->event = event;
	r->ppid = ppid;
	bpf_ringbuf_submit(r, WAKE);
}

static __noinline void emit_reply(__u32 pid, __u32 unit, __u8 msg, const char *body, __u32 avail)
{
	struct scratch *s = scratch();
	if (!s)
		return;
	struct pf_reply *r = &s->reply;
	__u32 n = avail < PF_REPLY_MAX - 1 ? avail : PF_REPLY_MAX - 1;
	r->len = 0;
	if (n > 0 && bpf_probe_read_user(r->body, BOUND(n, PF_REPLY_MAX - 1), body) == 0)
		r->len = n;
	r->h.type = PF_REC_REPLY;
	r->h.pid = pid;
	r->h.ts_ns = bpf_ktime_get_ns();
	r->unit = unit;
	r->msg = msg;
	r->_pad = 0;
	__u64 size = __builtin_offsetof(struct pf_reply, body) + r->len;
	if (size > sizeof(*r))
		return;
	if (bpf_ringbuf_output(&events, r, size, BATCHED) != 0)
		count(PF_CNT_DROPPED);
}

/* ---- the sampling decision -------------------------------------------------- */

/* The start record being decided: the per-CPU scratch one, or the one of
 * pid's long message. */
static __always_inline struct pf_start *start_record(struct scratch *s, __u32 pid, int long_msg)
{
	if (!long_msg)
		return &s->start;
	struct long_msg *l = bpf_map_lookup_elem(&long_msgs, &pid);
	return l ? &l->start : NULL;
}

/* The start record's text holds the first head_len bytes of the text, the
 * scratch tail its last tl bytes, total is its length. Fills the context;
 * returns 1 when sampled.
 * A global function: the verifier checks it once, on its own, instead of
 * again at every call site and for every state of the message loop (the
 * traceparent search is most of the gate's instructions). So it takes only
 * scalars and finds its buffers itself. */
__noinline int decide(__u32 pid, int long_msg, __u32 tl, __u32 head_len, __u32 total)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !cfg->enabled)
		return 0;
	struct scratch *s = scratch();
	if (!s)
		return 0;
	struct pf_start *ev = start_record(s, pid, long_msg);
	if (!ev)
		return 0;
	const char *tail = s->tail;
	if (tl > PF_WINDOW)
		tl = PF_WINDOW;
	if (head_len > PF_TEXT_MAX - 1)
		head_len = PF_TEXT_MAX - 1;
	count(PF_CNT_STARTS);

	int origin = 0, valid = 0, present = 0;
	int at = search_head(ev->text, head_len);
	const char *src = ev->text;
	if (at >= 0) {
		present = 1;
		valid = parse_traceparent(ev->text, at, ev);
		if (valid)
			origin = PF_ORIGIN_HEAD;
	}
	if (!present && tl > 0) {
		at = search_tail_fast(tail, tl);
		if (at < 0)
			at = search_tail(tail, tl);
		if (at >= 0) {
			present = 1;
			valid = parse_traceparent(tail, at, ev);
			if (valid)
				origin = PF_ORIGIN_TAIL;
		}
	}
	ev->malformed = present && !valid;
	if (ev->malformed)
		count(PF_CNT_MALFORMED);

	if (valid && !(ev->flags & 1)) {
		count(PF_CNT_UNSAMPLED);
		return 0;
	}
	if (!valid) {
		if (cfg->root_sample_ppm == 0 || bpf_get_prandom_u32() % 1000000 >= cfg->root_sample_ppm)
			return 0;
		origin = PF_ORIGIN_ROOT;
		__builtin_memset(ev->trace_id, 0, sizeof(ev->trace_id));
		__builtin_memset(ev->parent_span_id, 0, sizeof(ev->parent_span_id));
		ev->flags = 1;
		count(PF_CNT_ROOTS);
	} else {
		count(PF_CNT_TRACED);
	}
	__u32 tmax = cfg->text_max < PF_TEXT_MAX - 1 ? cfg->text_max : PF_TEXT_MAX - 1;
	ev->origin = origin;
	ev->text_len = head_len < tmax ? head_len : tmax;
	ev->text_total = total;
	return 1;
}

/* A sampled statement on a backend without phase probes wakes the collector:
 * the sooner it arms the backend, the fewer statements go untimed. */
static __always_inline void emit_start(struct pf_start *ev, __u32 pid, struct pf_backend_state *b, __u8 msg, __u32 unit, __u64 ts)
{
	__u32 ppid = b->ppid;
	__u64 wake = b->phases_seen ? BATCHED : WAKE;
	ev->h.type = PF_REC_START;
	ev->h.pid = pid;
	ev->h.ts_ns = ts;
	ev->ppid = ppid;
	ev->message = msg;
	ev->unit = unit;
	ev->_pad = 0;
	ev->_pad2 = 0;
	__u64 size = __builtin_offsetof(struct pf_start, text) + (ev->text_len & (PF_TEXT_MAX - 1));
	if (size > sizeof(*ev))
		return;
	if (bpf_ringbuf_output(&events, ev, size, wake) != 0)
		count(PF_CNT_DROPPED);
}

/* FNV-1a of a NUL-terminated name (statement or portal); 0 for "". */
static __always_inline __u32 name_hash(const char *name, __u32 len)
{
	__u32 h = 2166136261u;
	if (len == 0)
		return 0;
	for (int i = 0; i < NAME_MAX; i++) {
		if (i >= len)
			break;
		h = (h ^ (__u8)name[i]) * 16777619u;
	}
	return h | 1;
}

/* Reads a name at p; returns its length with the NUL (1 for ""), 0 if unreadable. */
static __always_inline __u32 read_name(struct scratch *s, const char *p, __u32 avail, __u32 *hash)
{
	if (avail == 0)
		return 0;
	__u32 cap = avail < NAME_MAX ? avail : NAME_MAX;
	long n = bpf_probe_read_user_str(s->name, BOUND(cap, 2 * NAME_MAX - 1), p);
	/* an empty string reads as 0 on some kernels (6.12: strncpy_from_user_nofault
	 * adds the NUL only to a non-empty string) and as 1 on others: the unnamed
	 * statement and portal of every extended-protocol query */
	if (n == 0) {
		s->name[0] = 0;
		n = 1;
	}
	if (n < 0)
		return 0;
	*hash = name_hash(s->name, n - 1);
	return n;
}

/* A Parse body ends with the text's NUL, int16 nparams and nparams int32
 * type OIDs: given its last bytes in buf (len of them), the length of that
 * suffix, or 0 when it cannot be told (more than PARAMS_MAX types). */
struct suffix_ctx {
	const char *buf;
	__u32 len;
	__u32 found;
};

static long suffix_cb(__u32 n, void *data)
{
	struct suffix_ctx *x = data;
	__u32 sfx = 3 + 4 * n;
	if (sfx > x->len)
		return 1;
	__u32 q = x->len - sfx;
	__u8 z = x->buf[q & (2 * LONG_WIN - 1)];
	__u8 hi = x->buf[(q + 1) & (2 * LONG_WIN - 1)];
	__u8 lo = x->buf[(q + 2) & (2 * LONG_WIN - 1)];
	if (z == 0 && ((__u32)hi << 8 | lo) == n) {
		x->found = sfx;
		return 1;
	}
	return 0;
}

static __always_inline __u32 parse_suffix(const char *buf, __u32 len)
{
	struct suffix_ctx x = { .buf = buf, .len = len, .found = 0 };
	bpf_loop(PARAMS_MAX + 1, suffix_cb, &x, 0);
	return x.found;
}

/* ---- message framing ------------------------------------------------------- */

static __always_inline int frontend_type(__u8 t)
{
	switch (t) {
	case 'Q': case 'P': case 'B': case 'E': case 'S': case 'D': case 'C': case 'H':
	case 'X': case 'd': case 'c': case 'f': case 'F': case 'p':
		return 1;
	}
	return 0;
}

static __always_inline int backend_type(__u8 t)
{
	switch (t) {
	case 'R': case 'S': case 'K': case 'Z': case 'T': case 'D': case 'C': case 'E':
	case 'N': case 'I': case '1': case '2': case '3': case 'n': case 't': case 's':
	case 'A': case 'G': case 'H': case 'W': case 'd': case 'c': case 'V': case 'v':
		return 1;
	}
	return 0;
}

/* The header of the message at buf[pos] (type byte, int32 length): fills its
 * body's length and how much of it this read/write holds. Returns 0, or -1
 * when the bytes are not a message of that direction (lost sync). */
static __always_inline int message_at(const char *buf, __u32 pos, __u32 len, int frontend, __u8 *type, __u32 *body, __u32 *avail)
{
	__u8 hdr[5];
	__u32 left = len - pos;
	if (left < 5 || bpf_probe_read_user(hdr, 5, buf + pos))
		return -1;
	__u32 mlen = be32(hdr + 1);
	if (mlen < 4 || mlen > MAX_MSG_LEN || !(frontend ? frontend_type(hdr[0]) : backend_type(hdr[0])))
		return -1;
	*type = hdr[0];
	*body = mlen - 4;
	*avail = *body < left - 5 ? *body : left - 5;
	return 0;
}

/* ---- following the input ---------------------------------------------------- */

struct in_ctx {
	const char *buf;
	__u32 len;
	__u32 pos;
	__u32 pid;
	struct pf_backend_state *b;
	__u64 ts;
	int lost;
	/* the message being handled */
	__u32 at;       /* offset of its body in buf */
	__u32 body;     /* body length */
	__u32 avail;    /* body bytes in this receive */
};

/* A Query or Parse, or a part of one, handed to the global functions that
 * read its text. Scalars only: a global function is verified once, on its
 * own, knowing nothing of its caller's pointers (it looks up the backend by
 * pid). That keeps the text reading, the largest part of the gate, from
 * being verified again for every state of the message loop. */
struct text_ref {
	__u64 buf;      /* user address of the receive buffer */
	__u64 ts;
	__u32 pid;
	__u32 at;       /* offset of the body (or of this part) in buf */
	__u32 body;     /* body length */
	__u32 avail;    /* body bytes in this receive (or this part's bytes) */
	__u32 unit;
	__u32 last;     /* a part that ends its message */
	__u32 msg;
};

/* The decision for a Query or Parse, applied to the backend's units. */
static __always_inline void apply(struct pf_backend_state *b, __u8 msg, int sampled, __u32 unit, __u32 hash)
{
	if (msg == PF_MSG_QUERY) {
		set_bit(&b->sampled, unit, sampled);
		return;
	}
	b->stmt_name = hash;
	b->stmt_sampled = sampled;
}

/* A Query or Parse received whole. */
__noinline int text_message(struct text_ref *m)
{
	if (!m)
		return 0;
	/* map keys on the stack: 6.1 refuses one in argument memory ("R2 type=mem expected=fp") */
	__u32 pid = m->pid;
	__u32 body = m->body, unit = m->unit;
	__u8 msg = m->msg;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	struct scratch *s = scratch();
	if (!b || !s)
		return 0;
	const char *p = (const char *)m->buf + m->at;
	__u32 name_len = 0, hash = 0, sfx = 1;
	if (msg == PF_MSG_PARSE) {
		name_len = read_name(s, p, body, &hash);
		if (name_len == 0 || name_len >= body)
			return 0;
		__u32 tl = body - name_len < 3 + 4 * PARAMS_MAX ? body - name_len : 3 + 4 * PARAMS_MAX;
		if (bpf_probe_read_user(s->tmp, BOUND(tl, 2 * LONG_WIN - 1), p + body - tl))
			return 0;
		sfx = parse_suffix(s->tmp, tl);
		if (sfx == 0) {
			apply(b, msg, 0, unit, hash);
			return 0;
		}
	}
	if (body < name_len + sfx)
		return 0;
	__u32 total = body - name_len - sfx;
	const char *text = p + name_len;
	struct pf_start *ev = &s->start;
	__u32 head = total < PF_TEXT_MAX - 1 ? total : PF_TEXT_MAX - 1;
	if (head > 0 && bpf_probe_read_user(ev->text, BOUND(head, MASK), text))
		return 0;
	__u32 tl = total < PF_WINDOW ? total : PF_WINDOW;
	if (tl > 0 && bpf_probe_read_user(s->tail, BOUND(tl, MASK), text + total - tl))
		return 0;
	int sampled = decide(m->pid, 0, tl, head, total);
	apply(b, msg, sampled, unit, hash);
	if (sampled) {
		emit_start(ev, m->pid, b, msg, msg == PF_MSG_QUERY ? unit : PF_UNIT_NONE, m->ts);
		if (msg == PF_MSG_PARSE)
			b->start_unbound = 1;
	}
	return 0;
}

/* The first part of a Query or Parse that spans receives: keep its head. */
__noinline int long_begin(struct text_ref *m)
{
	if (!m)
		return 0;
	/* map keys on the stack: 6.1 refuses one in argument memory ("R2 type=mem expected=fp") */
	__u32 pid = m->pid;
	__u32 body = m->body, avail = m->avail;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	struct scratch *s = scratch();
	if (!b || !s)
		return 0;
	count(PF_CNT_LONG_TEXT);
	struct long_msg *l = &s->fresh;
	const char *p = (const char *)m->buf + m->at;
	l->name_len = 0;
	l->name_hash = 0;
	if (m->msg == PF_MSG_PARSE) {
		l->name_len = read_name(s, p, avail, &l->name_hash);
		if (l->name_len == 0 || l->name_len >= avail)
			return 0;
	}
	__u32 head = avail - l->name_len;
	head = head < PF_TEXT_MAX - 1 ? head : PF_TEXT_MAX - 1;
	if (bpf_probe_read_user(l->start.text, BOUND(head, MASK), p + l->name_len))
		return 0;
	__u32 w = avail < LONG_WIN ? avail : LONG_WIN;
	if (bpf_probe_read_user(l->win, w == LONG_WIN ? LONG_WIN : BOUND(w, LONG_WIN - 1), p + avail - w))
		return 0;
	l->win_len = w;
	l->head_len = head;
	l->body = body;
	l->unit = m->unit;
	l->msg = m->msg;
	l->start.h.ts_ns = m->ts;
	if (bpf_map_update_elem(&long_msgs, &pid, l, BPF_ANY) == 0)
		b->in_long = 1;
	return 0;
}

/* A later part of a long message: slide the window; at its end, decide. */
__noinline int long_part(struct text_ref *m)
{
	if (!m)
		return 0;
	/* map keys on the stack: 6.1 refuses one in argument memory ("R2 type=mem expected=fp") */
	__u32 pid = m->pid;
	__u32 take = m->avail;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	struct scratch *s = scratch();
	struct long_msg *l = bpf_map_lookup_elem(&long_msgs, &pid);
	if (!s || !l) {
		b->in_long = 0;
		return 0;
	}
	const char *p = (const char *)m->buf + m->at;
	if (take >= LONG_WIN) {
		if (bpf_probe_read_user(l->win, LONG_WIN, p + take - LONG_WIN))
			goto drop;
		l->win_len = LONG_WIN;
	} else {
		__u32 keep = l->win_len < LONG_WIN - take ? l->win_len : LONG_WIN - take;
		keep = BOUND(keep, LONG_WIN - 1);
		if (keep && bpf_probe_read_kernel(s->tmp, keep, l->win + BOUND(l->win_len - keep, LONG_WIN - 1)))
			goto drop;
		if (take && bpf_probe_read_user(s->tmp + keep, BOUND(take, LONG_WIN - 1), p))
			goto drop;
		__u32 n = BOUND(keep + take, 2 * LONG_WIN - 1);
		if (n > LONG_WIN)
			goto drop;
		if (n && bpf_probe_read_kernel(l->win, BOUND(n, 2 * LONG_WIN - 1), s->tmp))
			goto drop;
		l->win_len = n;
	}
	if (!m->last)
		return 0;

	b->in_long = 0;
	__u32 sfx = 1;
	if (l->msg == PF_MSG_PARSE) {
		if (bpf_probe_read_kernel(s->tmp, BOUND(l->win_len, 2 * LONG_WIN - 1), l->win))
			goto drop;
		sfx = parse_suffix(s->tmp, l->win_len);
		if (sfx == 0)
			goto drop;
	}
	if (l->body < l->name_len + sfx || l->win_len < sfx)
		goto drop;
	__u32 total = l->body - l->name_len - sfx;
	__u32 avail_tail = l->win_len - sfx;
	__u32 tl = total < PF_WINDOW ? total : PF_WINDOW;
	tl = tl < avail_tail ? tl : avail_tail;
	if (tl && bpf_probe_read_kernel(s->tail, BOUND(tl, PF_WINDOW - 1 + PF_WINDOW), l->win + BOUND(avail_tail - tl, LONG_WIN - 1)))
		goto drop;
	__u32 head = l->head_len < total ? l->head_len : total;
	int sampled = decide(m->pid, 1, tl, head, total);
	apply(b, l->msg, sampled, l->unit, l->name_hash);
	if (sampled) {
		emit_start(&l->start, m->pid, b, l->msg, l->msg == PF_MSG_QUERY ? l->unit : PF_UNIT_NONE, l->start.h.ts_ns);
		if (l->msg == PF_MSG_PARSE)
			b->start_unbound = 1;
	}
drop:
	b->in_long = 0;
	bpf_map_delete_elem(&long_msgs, &pid);
	return 0;
}

/* Bind: portal name, statement name, ... The portal is sampled when it binds
 * the statement of the last sampled Parse of this cycle. */
static __noinline void bind_message(struct in_ctx *c)
{
	__u32 at = c->at, avail = c->avail;
	struct scratch *s = scratch();
	if (!s)
		return;
	struct pf_backend_state *b = c->b;
	__u32 portal = 0, stmt = 0;
	__u32 n = read_name(s, c->buf + at, avail, &portal);
	if (n == 0 || n >= avail || read_name(s, c->buf + at + n, avail - n, &stmt) == 0) {
		b->portal_sampled = 0;
		return;
	}
	b->portal_name = portal;
	b->portal_sampled = b->stmt_sampled && stmt == b->stmt_name;
}

/* Execute: one unit. */
static __noinline void execute_message(struct in_ctx *c)
{
	__u32 at = c->at, avail = c->avail;
	struct scratch *s = scratch();
	if (!s)
		return;
	struct pf_backend_state *b = c->b;
	__u32 portal = 0;
	int sampled = read_name(s, c->buf + at, avail, &portal) > 0 && portal == b->portal_name && b->portal_sampled;
	__u32 u = push_unit(b, sampled, 0);
	if (sampled) {
		emit_mark(c->pid, PF_MARK_UNIT, u, 0);
		b->start_unbound = 0;
	}
}

static long in_msg_cb(__u32 i, void *data)
{
	struct in_ctx *c = data;
	struct pf_backend_state *b = c->b;
	if (c->pos >= c->len)
		return 1;
	__u32 left = c->len - c->pos;
	if (b->in_rem) {
		__u32 take = b->in_rem < left ? b->in_rem : left;
		if (b->in_long) {
			struct text_ref m = { .buf = (__u64)c->buf, .pid = c->pid, .at = c->pos, .avail = take, .last = take == b->in_rem };
			long_part(&m);
		}
		b->in_rem -= take;
		c->pos += take;
		return 0;
	}
	__u8 type;
	__u32 body, avail;
	if (message_at(c->buf, c->pos, c->len, 1, &type, &body, &avail)) {
		c->lost = 1;
		return 1;
	}
	__u32 at = c->pos + 5;
	c->at = at;
	c->body = body;
	c->avail = avail;
	struct text_ref m = { .buf = (__u64)c->buf, .ts = c->ts, .pid = c->pid, .at = at, .body = body, .avail = avail };
	switch (type) {
	case 'Q':
		m.unit = push_unit(b, 0, 1);
		end_cycle_in(b);
		m.msg = PF_MSG_QUERY;
		if (avail == body)
			text_message(&m);
		else
			long_begin(&m);
		break;
	case 'P':
		b->stmt_sampled = 0;
		m.msg = PF_MSG_PARSE;
		if (avail == body)
			text_message(&m);
		else
			long_begin(&m);
		break;
	case 'B':
		bind_message(c);
		break;
	case 'E':
		execute_message(c);
		break;
	case 'S':
		end_cycle_in(b);
		break;
	}
	b->in_rem = body - avail;
	c->pos = at + avail;
	return 0;
}

static __always_inline void lose_sync(struct pf_backend_state *b)
{
	count(PF_CNT_DESYNC);
	b->proto = PF_PROTO_UNSYNCED;
	b->in_rem = 0;
	b->in_long = 0;
}

static __noinline int on_recv(__u32 pid, struct pf_backend_state *b, const char *buf, __u32 len)
{
	if (b->proto == PF_PROTO_TLS)
		return 0;
	if (b->proto == PF_PROTO_STARTUP) {
		/* the startup packet, or a request to encrypt first */
		__u8 pkt[8];
		if (len == 8 && bpf_probe_read_user(pkt, 8, buf) == 0) {
			__u32 code = be32(pkt + 4);
			if (be32(pkt) == 8 && (code == SSL_REQUEST_CODE || code == GSSENC_REQUEST_CODE))
				b->crypt_asked = 1;
		}
		return 0;
	}
	if (b->proto == PF_PROTO_UNSYNCED) {
		/* after a ReadyForQuery the next message starts a cycle */
		if (!b->out_synced)
			return 0;
		b->proto = PF_PROTO_PLAIN;
	}
	struct in_ctx c = { .buf = buf, .len = len, .pos = 0, .pid = pid, .b = b, .ts = bpf_ktime_get_ns(), .lost = 0 };
	bpf_loop(IN_MSGS, in_msg_cb, &c, 0);
	if (c.lost || c.pos < len)
		lose_sync(b);
	return 0;
}

/* ---- following the output --------------------------------------------------- */

struct out_ctx {
	const char *buf;
	__u32 len;
	__u32 pos;
	__u32 pid;
	struct pf_backend_state *b;
	int lost;
};

/* ReadyForQuery: the cycle whose Sync (or Query) came first is over. */
static __always_inline void ready(__u32 pid, struct pf_backend_state *b, __u8 status)
{
	__u32 end = b->in_seq;
	if (b->cyc_out != b->cyc_in) {
		end = b->cycle_end[b->cyc_out & (PF_CYCLES - 1)];
		b->cyc_out++;
	}
	if (any_sampled(b, b->out_base, end))
		emit_mark(pid, PF_MARK_IDLE, end, status);
	b->out_base = end;
	b->out_seq = end;
	b->exec_seq = end;
	b->exec_depth = 0;
	b->waits = 0;
}

/* CommandComplete, ErrorResponse, EmptyQueryResponse, PortalSuspended. */
static __always_inline void complete(struct out_ctx *c, __u8 msg, __u32 at, __u32 avail)
{
	struct pf_backend_state *b = c->b;
	__u32 u = b->out_seq;
	if (!unit_bit(b->query, u))
		b->out_seq++;
	if (unit_bit(b->sampled, u))
		emit_reply(c->pid, u, msg, c->buf + at, avail);
}

static long out_msg_cb(__u32 i, void *data)
{
	struct out_ctx *c = data;
	struct pf_backend_state *b = c->b;
	if (c->pos >= c->len)
		return 1;
	__u32 left = c->len - c->pos;
	if (b->out_rem) {
		__u32 take = b->out_rem < left ? b->out_rem : left;
		b->out_rem -= take;
		c->pos += take;
		return 0;
	}
	__u8 type, status;
	__u32 body, avail;
	if (message_at(c->buf, c->pos, c->len, 0, &type, &body, &avail)) {
		c->lost = 1;
		return 1;
	}
	__u32 at = c->pos + 5;
	switch (type) {
	case 'C': case 'E': case 'I': case 's':
		complete(c, type, at, avail);
		break;
	case 'Z':
		if (avail >= 1 && bpf_probe_read_user(&status, 1, c->buf + at) == 0)
			ready(c->pid, b, status);
		break;
	}
	b->out_rem = body - avail;
	c->pos = at + avail;
	return 0;
}

/* Whether buf ends with ReadyForQuery ('Z', length 5, status). */
static __always_inline int ends_ready(const char *buf, __u32 len, __u8 *status)
{
	__u8 z[6];
	if (len < 6 || bpf_probe_read_user(z, 6, buf + len - 6))
		return 0;
	if (z[0] != 'Z' || be32(z + 1) != 5 || (z[5] != 'I' && z[5] != 'T' && z[5] != 'E'))
		return 0;
	*status = z[5];
	return 1;
}

static __noinline int on_send(__u32 pid, struct pf_backend_state *b, const char *buf, __u32 len)
{
	__u8 status = 0;
	if (b->proto == PF_PROTO_TLS)
		return 0;
	if (b->proto == PF_PROTO_STARTUP) {
		if (b->crypt_asked && len == 1) {
			__u8 answer = 0;
			b->crypt_asked = 0;
			if (bpf_probe_read_user(&answer, 1, buf) == 0 && (answer == 'S' || answer == 'G')) {
				b->proto = PF_PROTO_TLS;
				count(PF_CNT_TLS);
				emit_backend(pid, b->ppid, PF_BACKEND_TLS);
			}
			return 0;
		}
		if (ends_ready(buf, len, &status)) {
			b->proto = PF_PROTO_PLAIN;
			b->out_synced = 1;
		}
		return 0;
	}
	if (b->out_synced && any_sampled(b, b->out_seq, b->in_seq)) {
		struct out_ctx c = { .buf = buf, .len = len, .pos = 0, .pid = pid, .b = b, .lost = 0 };
		bpf_loop(OUT_MSGS, out_msg_cb, &c, 0);
		if (!c.lost && c.pos >= len)
			return 0;
		count(PF_CNT_DESYNC);
	}
	/* not followed message by message: a ReadyForQuery at the end of what
	 * was sent still ends the cycle and puts the output back in step */
	b->out_rem = 0;
	b->out_synced = ends_ready(buf, len, &status);
	if (b->out_synced)
		ready(pid, b, status);
	return 0;
}

/* ---- tracepoints: the gate -------------------------------------------------- */

static __always_inline int in_sampled_cycle(struct pf_backend_state *b)
{
	return b->proto == PF_PROTO_PLAIN && any_sampled(b, b->out_base, b->in_seq);
}


SEC("raw_tp/sys_exit")
int on_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	long ret = (long)ctx->args[1];
	if (ret <= 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = SYSCALL_NR(regs);
	if (nr != NR_RECVFROM && nr != NR_SENDTO)
		return 0;
	const char *buf = (const char *)PT_REGS_PARM2_CORE(regs);
	if (nr == NR_RECVFROM)
		return on_recv(pid, b, buf, ret);
	return on_send(pid, b, buf, ret);
}

/* New backends: children of a followed postmaster. */
SEC("raw_tp/sched_process_fork")
int on_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *parent = (struct task_struct *)ctx->args[0];
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	if (!bpf_map_lookup_elem(&postmasters, &ppid))
		return 0;
	__u32 pid = BPF_CORE_READ(child, tgid);
	if (BPF_CORE_READ(child, pid) != pid)
		return 0;
	struct pf_backend_state fresh = {};
	fresh.ppid = ppid;
	fresh.proto = PF_PROTO_STARTUP;
	bpf_map_update_elem(&backends, &pid, &fresh, BPF_ANY);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int on_task_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	__u32 pid = BPF_CORE_READ(task, tgid);
	if (BPF_CORE_READ(task, pid) != pid)
		return 0;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	if (in_sampled_cycle(b))
		emit_backend(pid, b->ppid, PF_BACKEND_EXIT);
	bpf_map_delete_elem(&backends, &pid);
	bpf_map_delete_elem(&long_msgs, &pid);
	bpf_map_delete_elem(&usage_begins, &pid);
	return 0;
}

/* ---- inside a sampled request cycle -------------------------------------------- */

static __always_inline struct pf_cluster *cluster_of(struct pf_backend_state *b)
{
	__u32 ppid = b->ppid;
	return bpf_map_lookup_elem(&postmasters, &ppid);
}

/* The wait event the backend published: PostgreSQL sets it around every
 * wait, so at switch-out it says what the backend is going to sleep on. */
static __always_inline __u32 wait_event(struct pf_cluster *c)
{
	__u64 p = 0;
	__u32 ev = 0;
	if (bpf_probe_read_user(&p, sizeof(p), (void *)c->wait_event_ptr) || !p)
		return 0;
	if (bpf_probe_read_user(&ev, sizeof(ev), (void *)(p + c->wait_event_off)))
		return 0;
	return ev;
}

static __noinline void switched_in(__u32 pid, struct pf_backend_state *b, __u64 now)
{
	__u64 begin = b->off_ns;
	b->off_ns = 0;
	if (b->waits >= PF_WAITS_MAX) {
		count(PF_CNT_WAITS_CAPPED);
		return;
	}
	b->waits++;
	struct pf_wait *w = RECORD(struct pf_wait, PF_REC_WAIT, pid, now);
	if (!w)
		return;
	w->begin_ns = begin;
	w->event = b->off_event;
	w->runnable = b->off_runnable;
	w->_pad[0] = w->_pad[1] = w->_pad[2] = 0;
	bpf_ringbuf_submit(w, BATCHED);
}

/* Every context switch on the host comes here: two hash lookups decide
 * that it is not a backend inside a sampled request cycle. */
SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	__u32 pid = BPF_CORE_READ(prev, tgid);
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (b && in_sampled_cycle(b)) {
		struct pf_cluster *c = cluster_of(b);
		if (c && c->wait_event_ptr) {
			/* still runnable: preempted, it waits for a CPU, not for PostgreSQL */
			b->off_runnable = ctx->args[0] || BPF_CORE_READ(prev, __state) == 0;
			b->off_event = wait_event(c);
			b->off_ns = bpf_ktime_get_ns();
		}
	}
	pid = BPF_CORE_READ(next, tgid);
	b = bpf_map_lookup_elem(&backends, &pid);
	if (b && b->off_ns)
		switched_in(pid, b, bpf_ktime_get_ns());
	return 0;
}

/* ---- buffer and WAL usage ------------------------------------------------------ */

/* Reads pgBufferUsage then pgWalUsage into `to`; 0 on success. */
static __always_inline int read_usage(struct pf_cluster *c, __u8 *to, __u32 *bl, __u32 *wl)
{
	__u32 b = c->buffer_size, w = c->wal_size;
	if (b > PF_USAGE_MAX - 32 || w > 32)
		return -1;
	b = BOUND(b, 255);
	w = BOUND(w, 63);
	if (b > PF_USAGE_MAX - 32 || w > 32)
		return -1;
	*bl = b;
	*wl = w;
	if (bpf_probe_read_user(to, b, (void *)c->buffer_usage) || bpf_probe_read_user(to + b, w, (void *)c->wal_usage))
		return -1;
	return 0;
}

/* At execution start the counters are kept; at its end the difference is
 * sent, word by word: every field of BufferUsage and WalUsage is a 64-bit
 * integer or a struct timespec of two (PG <= 15), so the per-word difference
 * is right for every major and user space decodes it with that major's layout. */
static __noinline void usage_begin(__u32 pid, struct pf_backend_state *b, __u32 unit)
{
	struct pf_cluster *c = cluster_of(b);
	struct scratch *s = scratch();
	__u32 bl, wl;
	if (!c || !c->buffer_usage || !c->wal_usage || !s)
		return;
	struct usage_begin *begin = (struct usage_begin *)s->tmp;
	if (read_usage(c, (__u8 *)begin->words, &bl, &wl))
		return;
	begin->unit = unit;
	bpf_map_update_elem(&usage_begins, &pid, begin, BPF_ANY);
}

/* The usage record of the unit whose execution just ended: it is its
 * EXEC_END mark too (one record fewer per statement). 0 when sent. */
static __noinline int usage_end(__u32 pid, struct pf_backend_state *b, __u32 unit)
{
	struct pf_cluster *c = cluster_of(b);
	struct scratch *s = scratch();
	if (!c || !c->buffer_usage || !c->wal_usage || !s)
		return -1;
	struct usage_begin *begin = bpf_map_lookup_elem(&usage_begins, &pid);
	if (!begin || begin->unit != unit)
		return -1;
	struct pf_usage *u = &s->usage;
	__u32 bl, wl;
	if (read_usage(c, u->data, &bl, &wl))
		return -1;
	__u64 *now = (__u64 *)u->data;
	for (int i = 0; i < PF_USAGE_MAX / 8; i++)
		now[i] -= begin->words[i];
	bpf_map_delete_elem(&usage_begins, &pid);
	u->h.type = PF_REC_USAGE;
	u->h.pid = pid;
	u->h.ts_ns = bpf_ktime_get_ns();
	u->unit = unit;
	u->kind = PF_MARK_EXEC_END;
	u->buffer_len = bl;
	u->wal_len = wl;
	u->_pad = 0;
	__u64 size = __builtin_offsetof(struct pf_usage, data) + BOUND(bl + wl, 255);
	if (size > sizeof(*u))
		return -1;
	if (bpf_ringbuf_output(&events, u, size, BATCHED) != 0) {
		count(PF_CNT_DROPPED);
		return -1;
	}
	return 0;
}

/* ---- heavyweight lock waits (slow path) ------------------------------------------ */

static __always_inline int on_lock(__u32 edge, __u32 f1, __u32 f2, __u32 f3, __u16 f4, __u8 type, __u8 mode)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	count(PF_CNT_PHASE_HITS);
	if (!in_sampled_cycle(b))
		return 0;
	struct pf_lock *l = RECORD(struct pf_lock, PF_REC_LOCK, pid, bpf_ktime_get_ns());
	if (!l)
		return 0;
	l->edge = edge;
	l->field1 = f1;
	l->field2 = f2;
	l->field3 = f3;
	l->field4 = f4;
	l->tag_type = type;
	l->mode = mode;
	bpf_ringbuf_submit(l, WAKE);
	return 0;
}

/* ProcSleep(LOCALLOCK *locallock, ...): the LOCKTAG, then the LOCKMODE, start a LOCALLOCK in every supported major */
struct localtag {
	__u32 field1, field2, field3;
	__u16 field4;
	__u8 type, method;
	__s32 mode;
};

SEC("uprobe")
int uprobe_lock_wait(struct pt_regs *ctx)
{
	struct localtag t = {};
	if (bpf_probe_read_user(&t, sizeof(t), (void *)PT_REGS_PARM1(ctx)))
		return 0;
	return on_lock(PF_EDGE_BEGIN, t.field1, t.field2, t.field3, t.field4, t.type, t.mode);
}

SEC("uretprobe")
int uretprobe_lock_wait(struct pt_regs *ctx)
{
	return on_lock(PF_EDGE_END, 0, 0, 0, 0, 0, 0);
}

/* ---- nested statements (SPI) ------------------------------------------------------- */

/* The text of an SPI plan: _SPI_plan -> plancache_list -> first CachedPlanSource
 * -> query_string, both magics checked; 0 when it cannot be read. */
static __always_inline __u64 plan_text(struct pf_cluster *c, __u64 plan)
{
	__u32 magic = 0;
	__u64 list = 0, cells = 0, src = 0, text = 0;
	if (!c->plan_magic || !plan)
		return 0;
	if (bpf_probe_read_user(&magic, 4, (void *)plan) || magic != c->plan_magic)
		return 0;
	if (bpf_probe_read_user(&list, 8, (void *)(plan + c->plan_list)) || !list)
		return 0;
	if (bpf_probe_read_user(&cells, 8, (void *)(list + c->list_elements)) || !cells)
		return 0;
	if (bpf_probe_read_user(&src, 8, (void *)cells) || !src)
		return 0;
	if (bpf_probe_read_user(&magic, 4, (void *)src) || magic != c->source_magic)
		return 0;
	if (bpf_probe_read_user(&text, 8, (void *)(src + c->source_text)))
		return 0;
	return text;
}

/* The sampled unit a nested statement belongs to, or PF_UNIT_NONE. */
static __always_inline __u32 nest_unit(struct pf_backend_state *b)
{
	__u32 unit = b->exec_seq;
	if (b->exec_depth == 0 || !unit_bit(b->sampled, unit) || unit - b->out_base >= b->in_seq - b->out_base)
		return PF_UNIT_NONE;
	return unit;
}

/* An SPI probe hit: the backend (counted), its cluster and the sampled unit
 * the nested statement belongs to; NULL when it is not one to record. */
static __always_inline struct pf_backend_state *spi_hit(__u32 pid, struct pf_cluster **c, __u32 *unit)
{
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return NULL;
	count(PF_CNT_PHASE_HITS);
	*unit = nest_unit(b);
	*c = cluster_of(b);
	return *unit == PF_UNIT_NONE || !*c ? NULL : b;
}

static __noinline int nest_begin(struct pt_regs *ctx, __u64 arg, int is_plan)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_cluster *c = NULL;
	__u32 unit = PF_UNIT_NONE;
	struct pf_backend_state *b = spi_hit(pid, &c, &unit);
	struct scratch *s = scratch();
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!b || !c || !s || !cfg)
		return 0;
	if (b->nest_unit != unit) {
		b->nest_unit = unit;
		b->nest_count = 0;
	}
	__u32 seen = b->nest_count++;
	struct pf_nest *n = &s->nest;
	n->text_ptr = is_plan ? plan_text(c, arg) : arg;
	n->text_len = 0;
	if (!n->text_ptr) {
		n->text_state = PF_NEST_TEXT_UNKNOWN;
		count(PF_CNT_NEST_UNREAD);
	} else if (seen >= cfg->nest_cap) {
		n->text_state = PF_NEST_TEXT_CAPPED;
	} else {
		long r = bpf_probe_read_user_str(n->text, PF_NEST_TEXT, (void *)n->text_ptr);
		n->text_state = r > 0 ? PF_NEST_TEXT_SENT : PF_NEST_TEXT_UNKNOWN;
		n->text_len = r > 0 ? r - 1 : 0;
	}
	n->h.type = PF_REC_NEST;
	n->h.pid = pid;
	n->h.ts_ns = bpf_ktime_get_ns();
	n->unit = unit;
	n->edge = PF_EDGE_BEGIN;
	n->sp = PT_REGS_SP(ctx);
	n->rows = 0;
	n->result = 0;
	n->_pad = 0;
	__u64 size = __builtin_offsetof(struct pf_nest, text) + BOUND(n->text_len, PF_NEST_TEXT - 1);
	if (bpf_ringbuf_output(&events, n, size, BATCHED) != 0)
		count(PF_CNT_DROPPED);
	return 0;
}

/* SPI_execute_plan*, SPI_execute_snapshot: arg 1 is the plan */
SEC("uprobe")
int uprobe_spi_plan(struct pt_regs *ctx)
{
	return nest_begin(ctx, PT_REGS_PARM1(ctx), 1);
}

/* SPI_execute, SPI_execute_extended, SPI_execute_with_args: arg 1 is the text */
SEC("uprobe")
int uprobe_spi_text(struct pt_regs *ctx)
{
	return nest_begin(ctx, PT_REGS_PARM1(ctx), 0);
}

SEC("uretprobe")
int uretprobe_spi_end(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_cluster *c = NULL;
	__u32 unit = PF_UNIT_NONE;
	if (!spi_hit(pid, &c, &unit) || !c)
		return 0;
	struct pf_nest *n = bpf_ringbuf_reserve(&events, __builtin_offsetof(struct pf_nest, text), 0);
	if (!n) {
		count(PF_CNT_DROPPED);
		return 0;
	}
	__u64 rows = 0;
	if (c->spi_processed)
		bpf_probe_read_user(&rows, 8, (void *)c->spi_processed);
	n->h.type = PF_REC_NEST;
	n->h.pid = pid;
	n->h.ts_ns = bpf_ktime_get_ns();
	n->unit = unit;
	n->edge = PF_EDGE_END;
	n->sp = PT_REGS_SP(ctx);
	n->text_ptr = 0;
	n->rows = rows;
	n->result = (__s32)PT_REGS_RC(ctx);
	n->text_len = 0;
	n->text_state = 0;
	n->_pad = 0;
	bpf_ringbuf_submit(n, BATCHED);
	return 0;
}

/* ---- per-backend phase probes ----------------------------------------------- */

/* Attached only to backends that carry sampled statements; each hit finds
 * the unit being executed and records the mark only when it is sampled. */
static __always_inline int on_phase(__u32 kind)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	count(PF_CNT_PHASE_HITS);
	b->phases_seen = 1;
	__u32 unit = b->exec_seq;
	switch (kind) {
	case PF_MARK_EXEC_BEGIN:
		if (b->exec_depth++ > 0)
			return 0; /* a portal run inside another one (EXECUTE, FETCH) */
		break;
	case PF_MARK_EXEC_END:
		if (b->exec_depth == 0 || --b->exec_depth > 0)
			return 0;
		if (!unit_bit(b->query, unit))
			b->exec_seq++;
		break;
	case PF_MARK_COMMIT_BEGIN:
		/* CommitTransactionCommand after the portal ran: the commit of the
		 * unit just executed (at Sync in the extended protocol). Inside a
		 * portal it is a subtransaction or a procedure's COMMIT: not ours. */
		if (b->exec_depth > 0)
			return 0;
		if (!unit_bit(b->query, unit)) {
			if (unit == b->out_base)
				return 0;
			unit--;
		}
		break;
	default:
		if (b->exec_depth > 0)
			return 0; /* planning of a statement nested in a function */
		break;
	}
	if (!unit_bit(b->sampled, unit) || unit - b->out_base >= b->in_seq - b->out_base)
		return 0;
	if (kind == PF_MARK_EXEC_END && usage_end(pid, b, unit) == 0)
		return 0;
	emit_mark(pid, kind, unit, 0);
	if (kind == PF_MARK_EXEC_BEGIN)
		usage_begin(pid, b, unit);
	return 0;
}

/* Marks at function entries and USDT sites, one program per kind
 * (src/probes/tables.ts names them). */
#define UPROBE_PHASE(name, kind)                       \
	SEC("uprobe")                                  \
	int uprobe_##name(struct pt_regs *ctx)         \
	{                                              \
		return on_phase(kind);                 \
	}

UPROBE_PHASE(plan_begin, PF_MARK_PLAN_BEGIN)
UPROBE_PHASE(exec_begin, PF_MARK_EXEC_BEGIN)
UPROBE_PHASE(commit_begin, PF_MARK_COMMIT_BEGIN)
UPROBE_PHASE(exec_end_site, PF_MARK_EXEC_END)

/* PortalRun's return: the end of execution, nested runs included. */
SEC("uretprobe")
int uretprobe_exec_end(struct pt_regs *ctx)
{
	return on_phase(PF_MARK_EXEC_END);
}

#include "profile.bpf.h"
