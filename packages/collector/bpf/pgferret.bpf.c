// SPDX-License-Identifier: GPL-2.0
/* The kernel half of pgferret: probes in a running PostgreSQL backend.
 *
 * One "status" probe per request cycle reads the statement text, finds a
 * sqlcommenter traceparent in a comment at its start or end, and decides
 * whether the cycle is traced. Every other probe ("marks") only emits a
 * timestamped record when the backend's current cycle is traced, so an
 * untraced statement costs one hash lookup per probe hit.
 *
 * Everything is bounded: fixed-size records, bpf_loop with constant limits,
 * per-CPU scratch space, drops counted in `counters`.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>
#include "pgferret.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

struct backend {
	__u64 task_start;   /* distinguishes a reused pid */
	__u8 in_cycle;      /* between the first status report and idle */
	__u8 traced;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct backend);
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

/* Postmaster pids to trace when pf_config.filter_ppid is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} postmasters SEC(".maps");

/* Both text buffers share one power-of-two size so every variable index can
 * be masked with one constant the verifier understands. */
#define TAIL_BUF PF_TEXT_MAX
#define MASK (PF_TEXT_MAX - 1)

struct scratch {
	struct pf_start start;     /* head of the text lands in start.text */
	char tail[TAIL_BUF];
	char chunk[PF_SCAN_CHUNK];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_space SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);
	if (v)
		*v += 1;
}

static __always_inline __u64 task_start_time(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task_btf();
	return BPF_CORE_READ(t, start_time);
}

/* ---- traceparent search ------------------------------------------------ */

static const char needle[] = "traceparent='";
#define NEEDLE_LEN 13
#define TP_LEN 55 /* 00-<32 hex>-<16 hex>-<2 hex> */

static __always_inline int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* uppercase is invalid in W3C trace context */
}

struct hex_ctx {
	const char *buf;
	__u32 p;
	struct pf_start *out;
	__u8 nz_trace, nz_span;
	int bad;
};

/* Decodes id byte i: 0..15 the trace id, 16..23 the parent span id. */
static long hex_cb(__u32 i, void *data)
{
	struct hex_ctx *x = data;
	__u32 at = i < 16 ? 3 + 2 * i : 36 + 2 * (i - 16);
	int h = hexval(x->buf[(x->p + at) & MASK]);
	int l = hexval(x->buf[(x->p + at + 1) & MASK]);
	if (h < 0 || l < 0) {
		x->bad = 1;
		return 1;
	}
	__u8 v = (h << 4) | l;
	if (i < 16) {
		x->out->trace_id[i & 15] = v;
		x->nz_trace |= v;
	} else {
		x->out->parent_span_id[(i - 16) & 7] = v;
		x->nz_span |= v;
	}
	return 0;
}

/* Validates the 55 characters at buf[p] (masked) and fills the ids.
 * Returns 1 valid, 0 invalid. */
static __noinline int parse_traceparent(const char *buf, __u32 p, struct pf_start *out)
{
#define AT(i) buf[(p + (i)) & MASK]
	if (AT(2) != '-' || AT(35) != '-' || AT(52) != '-')
		return 0;
	int v0 = hexval(AT(0)), v1 = hexval(AT(1));
	if (v0 < 0 || v1 < 0 || (v0 == 15 && v1 == 15))
		return 0;
	/* version 00 ends exactly after the flags; later versions may append fields */
	if (v0 == 0 && v1 == 0 && AT(TP_LEN) != '\'')
		return 0;
	int fh = hexval(AT(53)), fl = hexval(AT(54));
	if (fh < 0 || fl < 0)
		return 0;
#undef AT
	struct hex_ctx x = { .buf = buf, .p = p, .out = out };
	bpf_loop(24, hex_cb, &x, 0);
	if (x.bad || !x.nz_trace || !x.nz_span)
		return 0;
	out->flags = (fh << 4) | fl;
	return 1;
}

struct search_ctx {
	const char *buf;
	__u32 from;
	__u32 to;       /* exclusive */
	int stop_at_comment_end;
	int found;      /* offset of the value after the needle, or -1 */
};

static long search_cb(__u32 i, void *data)
{
	struct search_ctx *s = data;
	__u32 p = s->from + i;
	if (p + NEEDLE_LEN > s->to)
		return 1;
	const char *b = s->buf;
	if (s->stop_at_comment_end && b[p & MASK] == '*' && b[(p + 1) & MASK] == '/')
		return 1;
	for (int k = 0; k < NEEDLE_LEN; k++)
		if (b[(p + k) & MASK] != needle[k])
			return 0;
	s->found = p + NEEDLE_LEN;
	return 1;
}

static __always_inline int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct trim_ctx {
	const char *buf;
	__u32 pos;      /* head: first non-space; tail: one past the last kept byte */
	__u32 len;
	int allow_semicolon;
};

static long skip_head_cb(__u32 i, void *data)
{
	struct trim_ctx *t = data;
	if (t->pos >= t->len || !is_space(t->buf[t->pos & MASK]))
		return 1;
	t->pos++;
	return 0;
}

static long trim_tail_cb(__u32 i, void *data)
{
	struct trim_ctx *t = data;
	if (t->pos == 0)
		return 1;
	char c = t->buf[(t->pos - 1) & MASK];
	if (!is_space(c) && c != ';')
		return 1;
	t->pos--;
	return 0;
}

/* Head: the text starts (after whitespace) with a block comment; search it. */
static __noinline int search_head(const char *buf, __u32 len)
{
	struct trim_ctx t = { .buf = buf, .pos = 0, .len = len };
	bpf_loop(64, skip_head_cb, &t, 0);
	__u32 i = t.pos;
	if (i + 2 > len || buf[i & MASK] != '/' || buf[(i + 1) & MASK] != '*')
		return -1;
	struct search_ctx s = {
		.buf = buf, .from = i + 2,
		.to = len < PF_WINDOW ? len : PF_WINDOW, .stop_at_comment_end = 1, .found = -1,
	};
	bpf_loop(PF_WINDOW, search_cb, &s, 0);
	return s.found;
}

struct rfind_ctx {
	const char *buf;
	__u32 end;    /* search backwards from here */
	int found;    /* offset of the opening slash, or -1 */
};

static long rfind_open_cb(__u32 i, void *data)
{
	struct rfind_ctx *r = data;
	if (i + 2 > r->end)
		return 1;
	__u32 p = r->end - 2 - i;
	if (r->buf[p & MASK] == '/' && r->buf[(p + 1) & MASK] == '*') {
		r->found = p;
		return 1;
	}
	return 0;
}

/* Tail: the text ends with a block comment, optionally followed by `;` and
 * whitespace; search from that comment's opening. buf holds the last len bytes. */
static __noinline int search_tail(const char *buf, __u32 len)
{
	struct trim_ctx t = { .buf = buf, .pos = len, .len = len };
	bpf_loop(64, trim_tail_cb, &t, 0);
	__u32 e = t.pos;
	if (e < 4 || e > PF_WINDOW || buf[(e - 1) & MASK] != '/' || buf[(e - 2) & MASK] != '*')
		return -1;
	struct rfind_ctx r = { .buf = buf, .end = e - 2, .found = -1 };
	bpf_loop(PF_WINDOW, rfind_open_cb, &r, 0);
	if (r.found < 0)
		return -1;
	struct search_ctx s = {
		.buf = buf, .from = r.found + 2, .to = e - 2,
		.stop_at_comment_end = 0, .found = -1,
	};
	bpf_loop(PF_WINDOW, search_cb, &s, 0);
	return s.found;
}

/* The SDK's shape, checked at fixed offsets without loops: the text ends
 * with traceparent='<55 chars>' and the comment's end, maybe followed by
 * `;` and whitespace (sorted sqlcommenter keys put traceparent last unless
 * tracestate is sent). Returns the offset of the value, or -1 to fall back
 * to the search. */
static __always_inline int search_tail_fast(const char *buf, __u32 len)
{
	__u32 e = len;
	if (e > 0 && (buf[(e - 1) & MASK] == ';' || is_space(buf[(e - 1) & MASK])))
		e--;
	if (e > 0 && (buf[(e - 1) & MASK] == ';' || is_space(buf[(e - 1) & MASK])))
		e--;
	if (e < NEEDLE_LEN + TP_LEN + 5)
		return -1;
	if (buf[(e - 1) & MASK] != '/' || buf[(e - 2) & MASK] != '*' || buf[(e - 3) & MASK] != '\'')
		return -1;
	__u32 v = e - 3 - TP_LEN;
#pragma unroll
	for (int k = 0; k < NEEDLE_LEN; k++)
		if (buf[(v - NEEDLE_LEN + k) & MASK] != needle[k])
			return -1;
	return v;
}

/* ---- finding the end of a long text ----------------------------------- */

struct scan_ctx {
	const char *text;
	char *chunk;
	__u64 total;
	int done;
};

static long scan_cb(__u32 i, void *data)
{
	struct scan_ctx *s = data;
	/* the offset derives from i, not from state carried across iterations,
	 * so the verifier sees one shape of this callback, not 512 */
	__u64 off = (PF_TEXT_MAX - 1) + (__u64)i * (PF_SCAN_CHUNK - 1);
	long n = bpf_probe_read_user_str(s->chunk, PF_SCAN_CHUNK, s->text + off);
	if (n <= 0)
		return 1;
	if (n < PF_SCAN_CHUNK) {
		s->total = off + n - 1;
		s->done = 1;
		return 1;
	}
	return 0;
}

/* ---- probe handlers ----------------------------------------------------- */

static __always_inline void emit_mark(__u32 pid, __u32 kind, __u64 value)
{
	struct pf_mark *m = bpf_ringbuf_reserve(&events, sizeof(*m), 0);
	if (!m) {
		count(PF_CNT_DROPPED);
		return;
	}
	m->h.type = PF_REC_MARK;
	m->h.pid = pid;
	m->h.ts_ns = bpf_ktime_get_ns();
	m->kind = kind;
	m->_pad = 0;
	m->value = value;
	bpf_ringbuf_submit(m, 0);
}

static __always_inline int on_mark(__u32 kind, __u64 value)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct backend *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b || !b->traced)
		return 0;
	emit_mark(pid, kind, value);
	return 0;
}

/* A traced cycle begins: decide, and send the text with the context. */
static __always_inline int start_cycle(__u32 pid, struct backend *b, const char *text)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !cfg->enabled)
		return 0;
	struct task_struct *task = (struct task_struct *)bpf_get_current_task_btf();
	__u32 ppid = BPF_CORE_READ(task, real_parent, tgid);
	if (cfg->filter_ppid && !bpf_map_lookup_elem(&postmasters, &ppid))
		return 0;
	count(PF_CNT_STARTS);

	struct scratch *s = bpf_map_lookup_elem(&scratch_space, &zero);
	if (!s)
		return 0;
	struct pf_start *ev = &s->start;

	long n = bpf_probe_read_user_str(ev->text, PF_TEXT_MAX, text);
	if (n <= 0)
		return 0;
	__u64 total;
	if (n < PF_TEXT_MAX) {
		total = n - 1;
	} else {
		struct scan_ctx sc = { .text = text, .chunk = s->chunk, .total = 0, .done = 0 };
		bpf_loop(PF_SCAN_CHUNKS, scan_cb, &sc, 0);
		total = sc.done ? sc.total : 0;
		if (!sc.done)
			count(PF_CNT_LONG_TEXT);
	}
	__u32 head_len = total && total < PF_TEXT_MAX ? total : PF_TEXT_MAX - 1;

	int origin = 0, valid = 0, present = 0;
	int at = search_head(ev->text, head_len);
	if (at >= 0) {
		present = 1;
		valid = parse_traceparent(ev->text, at, ev);
		if (valid)
			origin = PF_ORIGIN_HEAD;
	}
	if (!present && total > 0) {
		/* a short text is all in ev->text already; a long one's tail is read */
		const char *tail = ev->text;
		__u32 tl = total;
		at = total < PF_TEXT_MAX ? search_tail_fast(ev->text, total) : -1;
		if (at < 0) {
			tl = total < PF_WINDOW ? total : PF_WINDOW;
			if (bpf_probe_read_user(s->tail, tl & MASK, text + total - tl) == 0) {
				tail = s->tail;
				at = search_tail_fast(s->tail, tl);
				if (at < 0)
					at = search_tail(s->tail, tl);
			}
		}
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
	__u32 tlen = head_len < tmax ? head_len : tmax;
	ev->h.type = PF_REC_START;
	ev->h.pid = pid;
	ev->h.ts_ns = bpf_ktime_get_ns();
	ev->origin = origin;
	ev->text_len = tlen;
	ev->text_total = total;
	ev->ppid = ppid;
	__u64 size = __builtin_offsetof(struct pf_start, text) + (tlen & (PF_TEXT_MAX - 1));
	if (size > sizeof(*ev))
		return 0;
	if (bpf_ringbuf_output(&events, ev, size, 0) != 0) {
		count(PF_CNT_DROPPED);
		return 0;
	}
	b->traced = 1;
	return 0;
}

/* Both the USDT probe statement__status and pgstat_report_activity() see
 * the statement text when a backend starts work on a message (Query, Parse,
 * Bind, Execute) and NULL when it goes idle before ReadyForQuery. */
static __always_inline int on_status(const char *text)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 started = task_start_time();
	struct backend *b = bpf_map_lookup_elem(&backends, &pid);

	if (!text) {
		if (b) {
			if (b->traced)
				emit_mark(pid, PF_MARK_IDLE, 0);
			b->in_cycle = 0;
			b->traced = 0;
		}
		return 0;
	}
	if (b && b->task_start == started && b->in_cycle)
		return 0; /* Bind/Execute of the cycle already decided at Parse */
	struct backend fresh = { .task_start = started, .in_cycle = 1, .traced = 0 };
	bpf_map_update_elem(&backends, &pid, &fresh, BPF_ANY);
	b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	return start_cycle(pid, b, text);
}

SEC("usdt")
int BPF_USDT(usdt_status, const char *text)
{
	return on_status(text);
}

SEC("uprobe")
int BPF_KPROBE(uprobe_report_activity, int state, const char *text)
{
	return on_status(text);
}

/* USDT marks: the attach cookie says which enum pf_mark_kind this is. */
SEC("usdt")
int usdt_mark(struct pt_regs *ctx)
{
	return on_mark((__u32)bpf_usdt_cookie(ctx), 0);
}

/* Function-entry marks, one program per kind (src/probes/tables.ts names them). */
#define UPROBE_MARK(name, kind)                        \
	SEC("uprobe")                                  \
	int uprobe_##name(struct pt_regs *ctx)         \
	{                                              \
		return on_mark(kind, 0);               \
	}

UPROBE_MARK(parse_begin, PF_MARK_PARSE_BEGIN)
UPROBE_MARK(parse_end, PF_MARK_PARSE_END)
UPROBE_MARK(plan_begin, PF_MARK_PLAN_BEGIN)
UPROBE_MARK(plan_end, PF_MARK_PLAN_END)
UPROBE_MARK(exec_begin, PF_MARK_EXEC_BEGIN)
UPROBE_MARK(exec_end, PF_MARK_EXEC_END)
UPROBE_MARK(commit_begin, PF_MARK_COMMIT_BEGIN)
UPROBE_MARK(commit_end, PF_MARK_COMMIT_END)
UPROBE_MARK(abort, PF_MARK_ABORT)

/* EndCommand(const QueryCompletion *qc, ...): qc->nprocessed is at +8 in
 * PostgreSQL 13 and later (CommandTag enum, then uint64). */
SEC("uprobe")
int BPF_KPROBE(uprobe_end_command, void *qc)
{
	__u64 rows = 0;
	if (qc)
		bpf_probe_read_user(&rows, sizeof(rows), qc + 8);
	return on_mark(PF_MARK_ROWS, rows);
}

/* errcode(int sqlerrcode): runs only when an ereport is actually raised. */
SEC("uprobe")
int BPF_KPROBE(uprobe_errcode, int sqlerrcode)
{
	return on_mark(PF_MARK_SQLSTATE, (__u32)sqlerrcode);
}
