/* Finding and validating a sqlcommenter traceparent in a statement text, in
 * the kernel. The text's first bytes and its last PF_WINDOW bytes are in
 * kernel buffers of PF_TEXT_MAX bytes (power of two: every variable index is
 * masked with one constant the verifier understands). A traceparent counts
 * only in the leading block comment or in the final one (followed by nothing
 * but `;` and whitespace); user space confirms it with the PostgreSQL lexer.
 */
#ifndef PGFERRET_TRACEPARENT_BPF_H
#define PGFERRET_TRACEPARENT_BPF_H

#define MASK (PF_TEXT_MAX - 1)

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
	int bad;
};

/* Each hex digit's value plus one; 0 for any other byte (uppercase
 * included). A table read has no branch: the digits of a word are decoded
 * without a verifier state per digit. */
static const __u8 hex_plus1[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8, ['8'] = 9, ['9'] = 10,
	['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16,
};

/* Decodes the ids' 8-byte word i: 0 and 1 the trace id, 2 the parent span
 * id. Eight bytes a run, not one: each run of a bpf_loop callback is a call,
 * and this runs for every statement that carries a traceparent, sampled or
 * not (24 runs a statement were a quarter of the gate's time). */
static long hex_cb(__u32 i, void *data)
{
	struct hex_ctx *x = data;
	__u32 at = i < 2 ? 3 + 16 * i : 36;
	__u8 *out = i == 0 ? x->out->trace_id : i == 1 ? x->out->trace_id + 8 : x->out->parent_span_id;
	__u64 miss = 0;
#pragma unroll
	for (int k = 0; k < 8; k++) {
		__u8 h = hex_plus1[(__u8)x->buf[(x->p + at + 2 * k) & MASK]] - 1;
		__u8 l = hex_plus1[(__u8)x->buf[(x->p + at + 2 * k + 1) & MASK]] - 1;
		/* a non-digit is 0 - 1 = 255: its high bits say so */
		miss |= (h | l) >> 4;
		out[k] = (h << 4) | (l & 15);
		/* folded pair by pair: left to the end, every pair's digits wait on
		 * the stack, and 6.1 counts this callback's frame in a call chain
		 * that must stay within 512 bytes */
		asm volatile("" : "+r"(miss));
	}
	if (miss) {
		x->bad = 1;
		return 1;
	}
	return 0;
}

/* Whether n bytes at p are not all zero. Read back from the record rather
 * than accumulated in the loop's context: verifiers before 6.7 model a
 * bpf_loop callback as running once, so a condition that needs two of its
 * runs (trace id and span id both seen non-zero) looked impossible to them
 * and the branch was removed as dead code (6.1 traced nothing). */
static __always_inline int nonzero(const __u8 *p, int n)
{
	__u8 acc = 0;
#pragma unroll
	for (int k = 0; k < 16; k++)
		if (k < n)
			acc |= p[k];
	return acc != 0;
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
	bpf_loop(3, hex_cb, &x, 0);
	if (x.bad || !nonzero(out->trace_id, 16) || !nonzero(out->parent_span_id, 8))
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

/* The position is derived from the iteration number, never counted up or
 * down in the context: a counter is a new constant at every iteration, and
 * the verifier (6.7+, which follows each callback run) would check every one
 * of them, and everything after the loop once per value. */
struct trim_ctx {
	const char *buf;
	__u32 pos;      /* head: first non-space; tail: one past the last kept byte */
	__u32 len;
};

static long skip_head_cb(__u32 i, void *data)
{
	struct trim_ctx *t = data;
	if (i >= t->len || !is_space(t->buf[i & MASK])) {
		t->pos = i;
		return 1;
	}
	return 0;
}

static long trim_tail_cb(__u32 i, void *data)
{
	struct trim_ctx *t = data;
	if (i >= t->len) {
		t->pos = 0;
		return 1;
	}
	char c = t->buf[(t->len - 1 - i) & MASK];
	if (!is_space(c) && c != ';') {
		t->pos = t->len - i;
		return 1;
	}
	return 0;
}

/* Head: the text starts (after whitespace) with a block comment; search it. */
static __noinline int search_head(const char *buf, __u32 len)
{
	struct trim_ctx t = { .buf = buf, .pos = 64, .len = len };
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
	struct trim_ctx t = { .buf = buf, .pos = len > 64 ? len - 64 : 0, .len = len };
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

#endif
