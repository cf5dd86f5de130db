/* The protocol reader: follows the messages a backend receives (Query,
 * Parse/Bind/Execute, Sync) and sends (CommandComplete, ErrorResponse,
 * ReadyForQuery), decides which statements are sampled (the traceparent
 * search of traceparent.bpf.h) and records them. Called by the gate's
 * socket programs (gate.bpf.h) with the bytes of one recvfrom/sendto.
 * No programs here: its instructions are counted in theirs.
 */
#ifndef PGFERRET_PROTOCOL_BPF_H
#define PGFERRET_PROTOCOL_BPF_H

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

/* The session's standard_conforming_strings, read in the backend's memory
 * as its text arrives: the value PostgreSQL's lexer will read it with (a
 * ParameterStatus at the socket would be missed in the cycles whose output
 * is not followed). */
static __always_inline __u8 session_scs(__u32 ppid)
{
	struct pf_cluster *cl = bpf_map_lookup_elem(&postmasters, &ppid);
	__u8 v = 0;
	if (!cl || !cl->scs || bpf_probe_read_user(&v, 1, (const void *)cl->scs))
		return PF_SCS_UNKNOWN;
	return v ? PF_SCS_ON : PF_SCS_OFF;
}

/* A sampled statement on a backend without phase probes wakes the collector:
 * the sooner it arms the backend, the fewer statements go untimed. Once per
 * backend (the collector then knows it wants arming, and arms it when the
 * budget allows), and not while the overhead budget would keep the backend
 * unarmed anyway (wake_unarmed 0): a wakeup costs the request that makes it
 * — on a busy machine the woken collector preempts its backend (~200 µs a
 * TPC-B transaction, BENCHMARKS.md). */
static __always_inline void emit_start(struct pf_start *ev, __u32 pid, struct pf_backend_state *b, __u8 msg, __u32 unit, __u64 ts, __u32 name)
{
	__u32 ppid = b->ppid;
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	int first = !(b->phases_seen || b->woke || msg == PF_MSG_NAMED || !cfg || !cfg->wake_unarmed);
	if (first)
		b->woke = 1;
	ev->h.type = PF_REC_START;
	ev->h.pid = pid;
	ev->h.ts_ns = ts;
	ev->ppid = ppid;
	ev->message = msg;
	ev->unit = unit;
	ev->scs = session_scs(ppid);
	ev->_pad = 0;
	ev->name = name;
	__u64 size = __builtin_offsetof(struct pf_start, text) + BOUND(ev->text_len, PF_TEXT_MAX - 1);
	if (size > sizeof(*ev))
		return;
	if (bpf_ringbuf_output(&events, ev, size, first ? WAKE : BATCHED_OUTPUT(size)) != 0)
		count(PF_CNT_DROPPED);
}

#define FNV_BASIS 2166136261u

/* FNV-1a of a NUL-terminated name (statement or portal); 0 for "". */
static __always_inline __u32 name_hash(const char *name, __u32 len)
{
	__u32 h = FNV_BASIS;
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
	if (n < 0)
		return 0;
	/* "" (the unnamed statement or portal of every extended-protocol query)
	 * reads as 1 on 6.18 and as 0 on 6.1/6.12, without its NUL */
	if (n == 0) {
		s->name[0] = 0;
		n = 1;
	}
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

/* The header of the message at buf[pos] (type byte, int32 length), whose
 * first bytes may have come at the end of the previous receive/send (kept in
 * the backend's in_hdr/out_hdr). Scalars in and out: a global function, so
 * that the verifier checks it once rather than in every state of the
 * message loops that call it. */
struct hdr_ref {
	__u64 buf;      /* in: user address of the receive/send buffer */
	__u32 pos;      /* in: where the message starts in it */
	__u32 len;      /* in: bytes in it */
	__u32 pid;      /* in: the backend */
	__u32 frontend; /* in: 1 input, 0 output */
	__u32 copied;   /* in: 1 when buf's first bytes are in the scratch copy and no header bytes are saved */
	__u32 type;     /* out: the message type */
	__u32 body;     /* out: its body's length */
	__u32 at;       /* out: where its body starts in buf */
	__u32 avail;    /* out: body bytes in buf */
};

/* Returns 0; 1 when buf ends before the header does (its bytes are kept for
 * the next one); -1 when the bytes are not a message of that direction. */
__noinline int message_at(struct hdr_ref *m)
{
	if (!m)
		return -1;
	__u32 pos = m->pos, len = m->len;
	if (m->copied && pos + 5 <= (len < COPY_MAX ? len : COPY_MAX)) {
		/* the whole header in the receive's copy: no backend state, no read */
		struct scratch *s = scratch();
		if (!s)
			return -1;
		const __u8 *k = (const __u8 *)s->copy;
		__u8 t = k[pos & (COPY_MAX - 1)];
		__u32 mlen = (__u32)k[(pos + 1) & (COPY_MAX - 1)] << 24 | (__u32)k[(pos + 2) & (COPY_MAX - 1)] << 16 |
			     (__u32)k[(pos + 3) & (COPY_MAX - 1)] << 8 | k[(pos + 4) & (COPY_MAX - 1)];
		if (mlen < 4 || mlen > MAX_MSG_LEN || !frontend_type(t))
			return -1;
		m->type = t;
		m->body = mlen - 4;
		m->at = pos + 5;
		m->avail = m->body < len - m->at ? m->body : len - m->at;
		return 0;
	}
	/* map keys from the stack: 6.1 refuses a key pointing into an argument's memory */
	__u32 pid = m->pid;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return -1;
	__u8 *saved = m->frontend ? b->in_hdr : b->out_hdr;
	__u8 *have = m->frontend ? &b->in_hdr_have : &b->out_hdr_have;
	__u8 hdr[5] = {};
	__u32 h = *have;
	if (h > 4 || pos >= len)
		return -1;
	__u32 left = len - pos;
	const char *p = (const char *)m->buf + pos;
	if (left < 5 - h) {
		/* at most 4 bytes of a header: kept for the next one */
		__u8 t[4] = {};
		if (bpf_probe_read_user(t, left & 3 ? left & 3 : 4, p))
			return -1;
#pragma unroll
		for (int k = 0; k < 4; k++)
			if (k < left)
				saved[(h + k) & 3] = t[k];
		*have = h + left;
		return 1;
	}
	int r;
	switch (h) {
	case 0: r = bpf_probe_read_user(hdr, 5, p); break;
	case 1: hdr[0] = saved[0]; r = bpf_probe_read_user(hdr + 1, 4, p); break;
	case 2: hdr[0] = saved[0]; hdr[1] = saved[1]; r = bpf_probe_read_user(hdr + 2, 3, p); break;
	case 3: hdr[0] = saved[0]; hdr[1] = saved[1]; hdr[2] = saved[2]; r = bpf_probe_read_user(hdr + 3, 2, p); break;
	default: hdr[0] = saved[0]; hdr[1] = saved[1]; hdr[2] = saved[2]; hdr[3] = saved[3]; r = bpf_probe_read_user(hdr + 4, 1, p); break;
	}
	*have = 0;
	if (r)
		return -1;
	__u32 mlen = be32(hdr + 1);
	if (mlen < 4 || mlen > MAX_MSG_LEN || !(m->frontend ? frontend_type(hdr[0]) : backend_type(hdr[0])))
		return -1;
	m->type = hdr[0];
	m->body = mlen - 4;
	m->at = pos + 5 - h;
	left = len - m->at;
	m->avail = m->body < left ? m->body : left;
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
	__u32 named;    /* a Parse whose name was read already (hash): at points at its text */
	__u32 hash;
	__u32 len;      /* bytes in the receive, whose first COPY_MAX are in the scratch copy (0: none) */
};

/* A named Parse that was not sampled still sends its text (once per
 * statement and connection): its later executions come without text and
 * user space gives them this one. 1 when there is one to send. */
static __always_inline int named_text(struct pf_start *ev, __u32 head, __u32 total)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !cfg->enabled)
		return 0;
	__u32 tmax = cfg->text_max < PF_TEXT_MAX - 1 ? cfg->text_max : PF_TEXT_MAX - 1;
	ev->text_len = head < tmax ? head : tmax;
	ev->text_total = total;
	ev->origin = PF_ORIGIN_ROOT;
	ev->malformed = 0;
	return 1;
}

/* Root sampling for an execution that carries no context of its own. */
static __always_inline int root_sampled(void)
{
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	if (!cfg || !cfg->enabled || cfg->root_sample_ppm == 0)
		return 0;
	if (bpf_get_prandom_u32() % 1000000 >= cfg->root_sample_ppm)
		return 0;
	count(PF_CNT_ROOTS);
	return 1;
}

/* The decision for a Query or Parse, applied to the backend's units. */
static __always_inline void apply(struct pf_backend_state *b, __u8 msg, int sampled, __u32 unit, __u32 hash)
{
	if (msg == PF_MSG_QUERY) {
		if (sampled)
			query_sampled(b, unit);
		return;
	}
	b->stmt_name = hash;
	b->stmt_sampled = sampled;
	b->stmt_parsed = 1;
}

/* A Query or Parse received whole. */
__noinline int text_message(struct text_ref *m)
{
	if (!m)
		return 0;
	__u32 body = m->body, unit = m->unit;
	__u8 msg = m->msg;
	__u32 pid = m->pid;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	struct scratch *s = scratch();
	if (!b || !s)
		return 0;
	const char *p = (const char *)m->buf + m->at;
	__u32 name_len = 0, hash = 0, sfx = 1;
	if (msg == PF_MSG_PARSE && m->named) {
		hash = m->hash;
	} else if (msg == PF_MSG_PARSE) {
		name_len = read_name(s, p, body, &hash);
		if (name_len == 0 || name_len >= body)
			return 0;
	}
	if (msg == PF_MSG_PARSE) {
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
	__u32 tl = total < PF_WINDOW ? total : PF_WINDOW;
	/* a Query whole in the receive's copy: its text from there (no read of the backend's memory) */
	if (msg == PF_MSG_QUERY && m->at + body <= (m->len < COPY_MAX ? m->len : COPY_MAX)) {
		if (head > 0 && bpf_probe_read_kernel(ev->text, BOUND(head, MASK), s->copy + BOUND(m->at, COPY_MAX - 1)))
			return 0;
		if (tl > 0 && bpf_probe_read_kernel(s->tail, BOUND(tl, MASK), s->copy + BOUND(m->at + total - tl, COPY_MAX - 1)))
			return 0;
	} else {
		if (head > 0 && bpf_probe_read_user(ev->text, BOUND(head, MASK), text))
			return 0;
		if (tl > 0 && bpf_probe_read_user(s->tail, BOUND(tl, MASK), text + total - tl))
			return 0;
	}
	int sampled = decide(m->pid, 0, tl, head, total);
	apply(b, msg, sampled, unit, hash);
	if (sampled) {
		emit_start(ev, m->pid, b, msg, msg == PF_MSG_QUERY ? unit : PF_UNIT_NONE, m->ts, hash);
		if (msg == PF_MSG_PARSE)
			b->start_unbound = 1;
	} else if (hash && named_text(ev, head, total)) {
		emit_start(ev, m->pid, b, PF_MSG_NAMED, PF_UNIT_NONE, m->ts, hash);
	}
	return 0;
}

/* The first part of a Query or Parse that spans receives: keep its head. */
__noinline int long_begin(struct text_ref *m)
{
	if (!m)
		return 0;
	__u32 body = m->body, avail = m->avail;
	__u32 pid = m->pid;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	struct scratch *s = scratch();
	if (!b || !s)
		return 0;
	count(PF_CNT_LONG_TEXT);
	struct long_msg *l = &s->fresh;
	const char *p = (const char *)m->buf + m->at;
	l->name_len = 0;
	l->name_hash = 0;
	if (m->msg == PF_MSG_PARSE && m->named) {
		l->name_hash = m->hash;
	} else if (m->msg == PF_MSG_PARSE) {
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
	__u32 take = m->avail;
	__u32 pid = m->pid;
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
	/* A head the first receive cut short (a message split near its start)
	 * grows from the parts that follow, up to PF_TEXT_MAX - 1 bytes, at most
	 * LONG_WIN - 1 a part (the window after start.text bounds that write). */
	if (l->head_len < PF_TEXT_MAX - 1) {
		__u32 room = PF_TEXT_MAX - 1 - l->head_len;
		__u32 n = take < room ? take : room;
		n = n < LONG_WIN - 1 ? n : LONG_WIN - 1;
		if (n && bpf_probe_read_user(l->start.text + BOUND(l->head_len, PF_TEXT_MAX - 1), BOUND(n, LONG_WIN - 1), p))
			goto drop;
		l->head_len += n;
	}
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
		emit_start(&l->start, m->pid, b, l->msg, l->msg == PF_MSG_QUERY ? l->unit : PF_UNIT_NONE, l->start.h.ts_ns, l->name_hash);
		if (l->msg == PF_MSG_PARSE)
			b->start_unbound = 1;
	} else if (l->msg == PF_MSG_PARSE && l->name_hash && named_text(&l->start, head, total)) {
		emit_start(&l->start, m->pid, b, PF_MSG_NAMED, PF_UNIT_NONE, l->start.h.ts_ns, l->name_hash);
	}
drop:
	b->in_long = 0;
	bpf_map_delete_elem(&long_msgs, &pid);
	return 0;
}

/* A Bind of portal `portal` to statement `stmt` (name hashes). The portal
 * is sampled when it binds the statement of the last sampled Parse of this
 * cycle. */
static __always_inline void bind_names(struct pf_backend_state *b, __u32 portal, __u32 stmt)
{
	b->portal_name = portal;
	if (b->stmt_parsed && stmt == b->stmt_name) {
		b->portal_sampled = b->stmt_sampled;
	} else if (stmt) {
		/* a named statement parsed in an earlier cycle: no text, no context
		 * here; sampled as a root, its text comes from its Parse's record */
		count(PF_CNT_NAMED);
		b->portal_sampled = root_sampled() ? 2 : 0;
		b->portal_stmt = stmt;
	} else {
		b->portal_sampled = 0;
	}
}

/* The leading names of a Bind (two) or an Execute (one), whole in the
 * receive's copy. Scalars in and out: a global function, verified once. */
struct names_ref {
	__u32 off;     /* in: where the first name starts in the copy */
	__u32 end;     /* in: where the message ends in it */
	__u32 count;   /* in: names to read */
	__u32 len;     /* in: bytes in the receive (its first COPY_MAX are in the copy) */
	__u32 first;   /* out: the first name's hash (as read_name: 0 for "") */
	__u32 second;  /* out: the second's */
};

struct copy_names_ctx {
	const char *name;  /* the names' bytes (scratch) */
	__u32 n;           /* how many there are */
	__u32 count;
	__u32 h, len, done, ok;
	__u32 first, second;
};

static long copy_names_cb(__u32 i, void *data)
{
	struct copy_names_ctx *x = data;
	if (i >= x->n)
		return 1;
	__u8 ch = x->name[i & (2 * NAME_MAX - 1)];
	if (ch) {
		/* longer than PostgreSQL keeps (read_name would cut it): not from the copy */
		if (++x->len >= NAME_MAX)
			return 1;
		x->h = (x->h ^ ch) * 16777619u;
		return 0;
	}
	__u32 hash = x->len ? x->h | 1 : 0;
	if (x->done == 0)
		x->first = hash;
	else
		x->second = hash;
	x->h = FNV_BASIS;
	x->len = 0;
	if (++x->done >= x->count) {
		x->ok = 1;
		return 1;
	}
	return 0;
}

/* 1 when every name ends in the message within NAME_MAX - 1 bytes; else 0
 * (then read_name reads them in the backend's memory, as before the copy). */
__noinline int copied_names(struct names_ref *r)
{
	if (!r)
		return 0;
	struct scratch *s = scratch();
	__u32 off = r->off, end = r->end;
	/* here, not in the caller: bounds learnt there would multiply the message loop's states */
	if (!s || end > (r->len < COPY_MAX ? r->len : COPY_MAX) || off >= end)
		return 0;
	/* the names' bytes to the start of a buffer: the loop below indexes it by its counter alone */
	if (bpf_probe_read_kernel(s->name, 2 * NAME_MAX, s->copy + BOUND(off, COPY_MAX - 1)))
		return 0;
	__u32 n = end - off;
	struct copy_names_ctx x = { .name = s->name, .n = n < 2 * NAME_MAX ? n : 2 * NAME_MAX, .count = r->count, .h = FNV_BASIS };
	bpf_loop(2 * NAME_MAX, copy_names_cb, &x, 0);
	r->first = x.first;
	r->second = x.second;
	return x.ok;
}

/* Bind, whole in this receive: portal name, statement name, ... */
static __noinline void bind_message(struct in_ctx *c)
{
	__u32 at = c->at, avail = c->avail;
	struct scratch *s = scratch();
	if (!s)
		return;
	struct pf_backend_state *b = c->b;
	struct names_ref nr = { .off = at, .end = at + c->body, .count = 2, .len = c->len };
	__u32 portal = 0, stmt = 0;
	if (copied_names(&nr)) {
		portal = nr.first;
		stmt = nr.second;
	} else {
		__u32 n = read_name(s, c->buf + at, avail, &portal);
		if (n == 0 || n >= avail || read_name(s, c->buf + at + n, avail - n, &stmt) == 0) {
			b->portal_sampled = 0;
			return;
		}
	}
	bind_names(b, portal, stmt);
}

/* An Execute of portal `portal` (name hash): one unit. */
static __always_inline void execute_portal(__u32 pid, struct pf_backend_state *b, int named, __u32 portal)
{
	int sampled = named && portal == b->portal_name && b->portal_sampled;
	__u32 u = push_unit(b, sampled, 0);
	if (sampled && b->portal_sampled == 2) {
		emit_mark(pid, PF_MARK_NAMED_EXEC, u, b->portal_stmt);
	} else if (sampled) {
		emit_mark(pid, PF_MARK_UNIT, u, 0);
		b->start_unbound = 0;
	}
}

/* Execute, whole in this receive. */
static __noinline void execute_message(struct in_ctx *c)
{
	__u32 at = c->at, avail = c->avail;
	struct scratch *s = scratch();
	if (!s)
		return;
	struct names_ref nr = { .off = at, .end = at + c->body, .count = 1, .len = c->len };
	int named = copied_names(&nr);
	__u32 portal = nr.first;
	if (!named)
		named = read_name(s, c->buf + at, avail, &portal) > 0;
	execute_portal(c->pid, c->b, named, portal);
}

/* ---- messages whose leading names span receives ------------------------------
 * A receive can end anywhere, also inside the names a Parse, Bind or Execute
 * starts with (even right after its header). Those are read on, byte by byte
 * into a running hash, in the parts that follow; what the message means is
 * decided when its last name ends: a Bind binds, an Execute executes, a
 * Parse's text is followed from there as any long text. */

static __always_inline void pend_begin(struct pf_backend_state *b, __u8 type)
{
	b->pend_type = type;
	b->pend_names = type == 'B' ? 2 : 1;
	b->pend_len = 0;
	b->pend_hash = FNV_BASIS;
}

struct scan_ctx {
	const char *name;  /* the part's first bytes (scratch) */
	__u32 n;
	__u32 h, len, names, first;
	__u32 used;        /* bytes up to the last name's NUL, once names is 0 */
};

static long scan_cb(__u32 i, void *data)
{
	struct scan_ctx *x = data;
	if (i >= x->n || x->names == 0)
		return 1;
	__u8 ch = x->name[i & (2 * NAME_MAX - 1)];
	if (ch) {
		/* as read_name: the first NAME_MAX - 1 bytes of a name */
		if (x->len < NAME_MAX - 1) {
			x->h = (x->h ^ ch) * 16777619u;
			x->len++;
		}
		return 0;
	}
	__u32 done = x->len ? x->h | 1 : 0;
	x->h = FNV_BASIS;
	x->len = 0;
	if (--x->names == 1) {
		x->first = done;
		return 0;
	}
	x->h = done;
	x->used = i + 1;
	return 1;
}

/* Reads on the pending names in the n (1..2 * NAME_MAX) bytes at buf: the
 * bytes up to the last name's NUL once they all ended, else 0 (-1: unreadable). */
static __noinline int pend_scan(struct pf_backend_state *b, struct scratch *s, const char *buf, __u32 n)
{
	if (!b || !s || bpf_probe_read_user(s->name, BOUND(n - 1, 2 * NAME_MAX - 1) + 1, buf))
		return -1;
	struct scan_ctx x = { .name = s->name, .n = n, .h = b->pend_hash, .len = b->pend_len, .names = b->pend_names, .first = b->pend_first };
	bpf_loop(2 * NAME_MAX, scan_cb, &x, 0);
	b->pend_hash = x.h;
	b->pend_len = x.len;
	b->pend_names = x.names;
	b->pend_first = x.first;
	return x.names ? 0 : x.used;
}

/* One part of a pending message (m: at, this part's bytes as avail, the
 * message's body bytes from at on as body): reads on its names and, once
 * they end, acts on it. A Parse's text is left to the caller (one call level
 * less: 6.1 counts 512 bytes of stack over the whole chain): returns 1 +
 * the offset in this part where it starts, else 0. */
__noinline int pend_part(struct text_ref *m)
{
	if (!m)
		return 0;
	__u32 pid = m->pid;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	struct scratch *s = scratch();
	if (!b || !s)
		return 0;
	__u32 take = m->avail, rem = m->body, used = 0;
	/* the receive ended right after the header: all of it comes next */
	if (take == 0)
		return 0;
	if (b->pend_names) {
		__u32 n = take < 2 * NAME_MAX ? take : 2 * NAME_MAX;
		int r = pend_scan(b, s, (const char *)m->buf + m->at, n);
		if (r < 0)
			goto give_up;
		if (r == 0) {
			/* names longer than any PostgreSQL keeps, or a message that ends inside them */
			if (n == 2 * NAME_MAX || take >= rem)
				goto give_up;
			return 0;
		}
		used = r;
	}
	__u8 type = b->pend_type;
	if (type == 'B') {
		bind_names(b, b->pend_first, b->pend_hash);
	} else if (type == 'E') {
		execute_portal(pid, b, 1, b->pend_hash);
	} else if (type == 'P') {
		/* its text starts here, or at the start of the next part */
		if (used >= take) {
			if (used >= rem)
				goto give_up;
			return 0;
		}
		b->pend_type = 0;
		return used + 1;
	}
	b->pend_type = 0;
	return 0;
give_up:
	/* not followed: a Bind binds nothing sampled, an Execute is an unsampled unit */
	if (b->pend_type == 'B')
		b->portal_sampled = 0;
	else if (b->pend_type == 'E')
		push_unit(b, 0, 0);
	b->pend_type = 0;
	return 0;
}

/* A pending Parse's text starts in this part (r: pend_part's answer). */
static __always_inline void pend_text(struct text_ref *m, struct pf_backend_state *b, int r)
{
	if (r <= 0)
		return;
	__u32 off = r - 1;
	m->at += off;
	m->body -= off;
	m->avail -= off;
	m->msg = PF_MSG_PARSE;
	m->named = 1;
	m->hash = b->pend_hash;
	if (m->avail == m->body)
		text_message(m);
	else
		long_begin(m);
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
		if (b->pend_type) {
			struct text_ref m = { .buf = (__u64)c->buf, .ts = c->ts, .pid = c->pid, .at = c->pos, .avail = take, .body = b->in_rem };
			pend_text(&m, b, pend_part(&m));
		} else if (b->in_long) {
			struct text_ref m = { .buf = (__u64)c->buf, .pid = c->pid, .at = c->pos, .avail = take, .last = take == b->in_rem };
			long_part(&m);
		}
		b->in_rem -= take;
		c->pos += take;
		return 0;
	}
	__u8 type;
	__u32 body, avail, at;
	if (!in_flight_room(b)) {
		c->lost = 1;
		return 1;
	}
	struct hdr_ref h = { .buf = (__u64)c->buf, .pos = c->pos, .len = c->len, .pid = c->pid, .frontend = 1, .copied = !b->in_hdr_have };
	int r = message_at(&h);
	type = h.type;
	body = h.body;
	at = h.at;
	avail = h.avail;
	if (r) {
		if (r < 0)
			c->lost = 1;
		else
			c->pos = c->len; /* the header continues in the next receive */
		return 1;
	}
	c->at = at;
	c->body = body;
	c->avail = avail;
	struct text_ref m = { .buf = (__u64)c->buf, .ts = c->ts, .pid = c->pid, .at = at, .body = body, .avail = avail, .len = c->len };
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
		else {
			pend_begin(b, 'P');
			pend_text(&m, b, pend_part(&m));
		}
		break;
	case 'B':
		if (avail == body)
			bind_message(c);
		else {
			pend_begin(b, 'B');
			pend_part(&m);
		}
		break;
	case 'E':
		if (avail == body)
			execute_message(c);
		else {
			pend_begin(b, 'E');
			pend_part(&m);
		}
		break;
	case 'S':
		end_cycle_in(b);
		break;
	}
	b->in_rem = body - avail;
	c->pos = at + avail;
	return 0;
}

/* Until a send that ends with ReadyForQuery, what is received is not taken
 * for the start of a message. */
static __always_inline void lose_sync(struct pf_backend_state *b)
{
	/* an adopted process whose first receive is no frontend message is no
	 * client backend (up to 14 the stats collector receives datagrams):
	 * not a lost place, not counted */
	if (!b->adopted)
		count(PF_CNT_DESYNC);
	b->proto = PF_PROTO_UNSYNCED;
	b->in_rem = 0;
	b->in_long = 0;
	b->pend_type = 0;
	b->in_hdr_have = 0;
	b->out_synced = 0;
}

/* From here on the backend's protocol bytes are ciphertext at the socket:
 * they are followed in plaintext at be_tls_read/be_tls_write (or the GSSAPI
 * pair), whose probes are in place since the cluster was attached; the first
 * plaintext puts the reader back to following (tls.bpf.h). */
static __always_inline void went_encrypted(__u32 pid, struct pf_backend_state *b, __u8 crypt)
{
	b->proto = PF_PROTO_TLS;
	b->crypt = crypt;
	b->in_rem = 0;
	b->in_long = 0;
	b->pend_type = 0;
	b->out_rem = 0;
	b->out_synced = 0;
	count(crypt == PF_CRYPT_GSS ? PF_CNT_GSSENC : PF_CNT_TLS);
	emit_backend(pid, b->ppid, crypt == PF_CRYPT_GSS ? PF_BACKEND_GSSENC : PF_BACKEND_TLS);
}

/* A TLS record header (handshake 0x16, alert 0x15, application data 0x17;
 * version 3.x) where a message should start: no frontend message type is
 * below 'B'. Direct TLS (PostgreSQL 17's sslnegotiation=direct) starts with
 * one; so does what an adopted TLS backend receives. */
static __always_inline int tls_record_at(const char *buf, __u32 len)
{
	__u8 h[2];
	if (len < 5 || bpf_probe_read_user(h, 2, buf))
		return 0;
	return h[0] >= 0x15 && h[0] <= 0x17 && h[1] == 3;
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
		} else if (!b->crypt && tls_record_at(buf, len)) {
			went_encrypted(pid, b, PF_CRYPT_TLS);
		}
		return 0;
	}
	if (b->proto == PF_PROTO_UNSYNCED) {
		/* after a ReadyForQuery the next message starts a cycle */
		if (!b->out_synced)
			return 0;
		b->proto = PF_PROTO_PLAIN;
	}
	struct scratch *s = scratch();
	if (!s)
		return 0;
	/* One read of the receive's first bytes (up to COPY_MAX), instead of one
	 * per message header, name and short Query text (each read of the
	 * backend's memory costs ~175 ns on a 6.18 VM, BENCHMARKS.md). No copy
	 * length is kept: the readers derive it from len (one kept here would be
	 * one more state in which the verifier checks the message loop); a
	 * failed read leaves zeros, which read as no message (lost sync). */
	__u32 n = len < COPY_MAX ? len : COPY_MAX;
	bpf_probe_read_user(s->copy, n == COPY_MAX ? COPY_MAX : BOUND(n, COPY_MAX - 1), buf);
	struct in_ctx c = { .buf = buf, .len = len, .pos = 0, .pid = pid, .b = b, .ts = bpf_ktime_get_ns(), .lost = 0 };
	bpf_loop(IN_MSGS, in_msg_cb, &c, 0);
	if (c.lost && c.pos == 0 && !b->crypt && tls_record_at(buf, len)) {
		/* adopted while speaking TLS (the collector started after it connected) */
		went_encrypted(pid, b, PF_CRYPT_TLS);
		return 0;
	}
	if (c.lost || c.pos < len)
		lose_sync(b);
	b->adopted = 0;
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
	int sampled;
	if (b->cyc_out != b->cyc_in) {
		end = b->cycle_end[b->cyc_out & (PF_CYCLES - 1)];
		sampled = unit_bit(b->cycle_sampled, b->cyc_out);
		if (sampled && b->open_cycles)
			b->open_cycles--;
		b->cyc_out++;
	} else {
		/* no cycle end seen (resynced): everything received is over */
		sampled = b->cur_sampled;
		b->cur_sampled = 0;
	}
	if (sampled)
		emit_mark(pid, PF_MARK_IDLE, end, status);
	b->out_base = end;
	b->out_seq = end;
	b->exec_seq = end;
	b->exec_depth = 0;
	b->waits = 0;
}

/* The query identifier the backend publishes (pg_stat_activity.query_id):
 * set by parse analysis and ExecutorStart, reset when its next Query or
 * Execute starts running. 0 when the cluster's layout is not verified. */
static __always_inline __u64 published_query_id(__u32 ppid)
{
	struct pf_cluster *cl = bpf_map_lookup_elem(&postmasters, &ppid);
	__u64 entry = 0, id = 0;
	if (!cl || !cl->be_entry || !cl->query_id_off)
		return 0;
	if (bpf_probe_read_user(&entry, sizeof(entry), (const void *)cl->be_entry) || !entry)
		return 0;
	if (bpf_probe_read_user(&id, sizeof(id), (const void *)(entry + cl->query_id_off)))
		return 0;
	return id;
}

/* CommandComplete, ErrorResponse, EmptyQueryResponse, PortalSuspended. */
static __always_inline void complete(struct out_ctx *c, __u8 msg, __u32 at, __u32 avail)
{
	struct pf_backend_state *b = c->b;
	__u32 u = b->out_seq;
	if (!unit_bit(b->query, u))
		b->out_seq++;
	if (!unit_bit(b->sampled, u))
		return;
	struct scratch *s = scratch();
	if (!s)
		return;
	/* Replies are sent when the output is flushed, not when they are
	 * written: by then a later unit of the cycle may have published its own
	 * id. The last unit of a cycle is the one a flush cannot outrun (the
	 * next cycle starts after the ReadyForQuery that follows it). */
	s->reply.query_id = 0;
	if (b->cyc_out != b->cyc_in && u + 1 == b->cycle_end[b->cyc_out & (PF_CYCLES - 1)])
		s->reply.query_id = published_query_id(b->ppid);
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
	__u32 body, avail, at;
	struct hdr_ref h = { .buf = (__u64)c->buf, .pos = c->pos, .len = c->len, .pid = c->pid, .frontend = 0 };
	int r = message_at(&h);
	type = h.type;
	body = h.body;
	at = h.at;
	avail = h.avail;
	if (r) {
		if (r < 0)
			c->lost = 1;
		else
			c->pos = c->len; /* the header continues in the next send */
		return 1;
	}
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
			if (bpf_probe_read_user(&answer, 1, buf) == 0 && (answer == 'S' || answer == 'G'))
				went_encrypted(pid, b, answer == 'S' ? PF_CRYPT_TLS : PF_CRYPT_GSS);
			return 0;
		}
		if (ends_ready(buf, len, &status)) {
			b->proto = PF_PROTO_PLAIN;
			b->out_synced = 1;
		}
		return 0;
	}
	if (b->out_synced && has_sampled(b)) {
		struct out_ctx c = { .buf = buf, .len = len, .pos = 0, .pid = pid, .b = b, .lost = 0 };
		bpf_loop(OUT_MSGS, out_msg_cb, &c, 0);
		if (!c.lost && c.pos >= len)
			return 0;
		count(PF_CNT_DESYNC);
	}
	/* not followed message by message: a ReadyForQuery at the end of what
	 * was sent still ends the cycle and puts the output back in step */
	b->out_rem = 0;
	b->out_hdr_have = 0;
	b->out_synced = ends_ready(buf, len, &status);
	if (b->out_synced)
		ready(pid, b, status);
	return 0;
}

#endif
