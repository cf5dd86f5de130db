/* Inside a sampled request cycle (--detail full): off-CPU waits (every
 * context switch, filtered to backends inside sampled cycles), buffer and WAL
 * usage (read at execution start and end by the phase probes), heavyweight
 * lock waits (ProcSleep, slow path) and statements run through SPI.
 *
 * Verified instructions (Linux 6.18):
 *   on_switch             261 (6.1, 6.12: 227)
 *   uprobe_lock_wait      118
 *   uretprobe_lock_wait    81
 *   uprobe_spi_plan       423
 *   uprobe_spi_text       278
 *   uretprobe_spi_end     128
 */
#ifndef PGFERRET_INSIDE_BPF_H
#define PGFERRET_INSIDE_BPF_H

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
	bpf_ringbuf_submit(w, BATCHED_RESERVED(sizeof(*w)));
}

/* Every context switch on the host comes here: while no backend has a
 * sampled cycle open, one array read says so; else two hash lookups decide
 * that it is not a backend inside a sampled request cycle. */
SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 zero = 0;
	__s64 *open = bpf_map_lookup_elem(&sampled_backends, &zero);
	if (!open || *open <= 0)
		return 0;
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
	if (bpf_ringbuf_output(&events, u, size, BATCHED_OUTPUT(size)) != 0) {
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
	/* only a beginning the collector can act on wakes it: with nobody to ask
	 * for the blockers the record waits for the drain like the others */
	__u32 zero = 0;
	struct pf_config *cfg = bpf_map_lookup_elem(&settings, &zero);
	bpf_ringbuf_submit(l, edge == PF_EDGE_BEGIN && cfg && cfg->wake_locks ? WAKE : BATCHED_RESERVED(sizeof(*l)));
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
	if (bpf_ringbuf_output(&events, n, size, BATCHED_OUTPUT(size)) != 0)
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
	bpf_ringbuf_submit(n, BATCHED_RESERVED(__builtin_offsetof(struct pf_nest, text)));
	return 0;
}

#endif
