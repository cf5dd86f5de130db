/* Shared state of the collector's one BPF object: the maps (one ring
 * buffer, the per-backend protocol state, settings, counters, clusters),
 * per-CPU scratch space, record helpers and the per-backend unit
 * bookkeeping every other unit reads. No programs here.
 */
#ifndef PGFERRET_MAPS_BPF_H
#define PGFERRET_MAPS_BPF_H

/* PostgreSQL reads its client with recv() and writes with send()
 * (secure_raw_read/secure_raw_write). Syscall numbers and the register that
 * holds the number at sys_exit differ per architecture (docs/arm64.md). */
#if defined(__TARGET_ARCH_arm64)
#define NR_SENDTO 206
#define NR_RECVFROM 207
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, syscallno)
/* A syscall's fd and buffer from a trusted (BTF) pt_regs, read in place: x0
 * holds the result at the exit, the first argument is in orig_x0. */
#define SYSCALL_FD(regs) ((regs)->orig_x0)
#define SYSCALL_BUF(regs) ((regs)->regs[1])
#else
#define NR_SENDTO 44
#define NR_RECVFROM 45
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#define SYSCALL_FD(regs) ((regs)->di)
#define SYSCALL_BUF(regs) ((regs)->si)
#endif

/* Startup packet codes (PostgreSQL's pqcomm.h). */
#define SSL_REQUEST_CODE 80877103
#define GSSENC_REQUEST_CODE 80877104

#define MAX_MSG_LEN 0x3fffffff  /* PostgreSQL refuses larger messages */
#define IN_MSGS 2048             /* messages followed per receive: an 8,192-byte receive holds at most 1,638 */
#define OUT_MSGS 2048            /* messages followed per send */
#define NAME_MAX 64              /* NAMEDATALEN */
#define LONG_WIN 1024            /* bytes kept of the end of a message spanning receives */
#define PARAMS_MAX 64            /* parameter types a Parse may declare for its text end to be found */
#define COPY_MAX 512             /* bytes of a receive copied at once: the headers and names of its messages are read from the copy */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} events SEC(".maps");

/* Allocated per backend as it forks (the value is ~9.7 KB: its in-flight
 * bitmaps and cycle ring), not preallocated for max_entries. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct pf_backend_state);
} backends SEC(".maps");

/* One all-zero backend state, never written: what a new backend starts from. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_backend_state);
} backend_zero SEC(".maps");

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
	char copy[COPY_MAX];       /* the first COPY_MAX bytes of the receive being read */
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

_Static_assert(PF_UNITS == PF_CYCLES, "unit_bit/set_bit serve both bitmaps");

static __always_inline int unit_bit(const __u64 *map, __u32 n)
{
	return (map[(n >> 6) & (PF_UNITS / 64 - 1)] >> (n & 63)) & 1;
}

static __always_inline void set_bit(__u64 *map, __u32 n, int on)
{
	__u64 bit = 1ULL << (n & 63);
	__u32 w = (n >> 6) & (PF_UNITS / 64 - 1);
	if (on)
		map[w] |= bit;
	else
		map[w] &= ~bit;
}

/* Whether a cycle received and not yet answered holds a sampled unit. */
static __always_inline int has_sampled(struct pf_backend_state *b)
{
	return b->open_cycles || b->cur_sampled;
}

/* Room for one more unit and one more cycle (checked before each message):
 * a bit of a unit still in flight is never reused. */
static __always_inline int in_flight_room(struct pf_backend_state *b)
{
	return b->in_seq - b->out_seq < PF_UNITS - 1 && b->cyc_in - b->cyc_out < PF_CYCLES - 1;
}

static __always_inline __u32 push_unit(struct pf_backend_state *b, int sampled, int query)
{
	__u32 u = b->in_seq++;
	set_bit(b->sampled, u, sampled);
	set_bit(b->query, u, query);
	if (sampled)
		b->cur_sampled = 1;
	return u;
}

/* A Query's decision comes after its cycle ended (the cycle is the last one
 * received: a Query's text is read before anything after it). */
static __always_inline void query_sampled(struct pf_backend_state *b, __u32 unit)
{
	__u32 cyc = b->cyc_in - 1;
	set_bit(b->sampled, unit, 1);
	if (b->cyc_in != b->cyc_out && !unit_bit(b->cycle_sampled, cyc)) {
		set_bit(b->cycle_sampled, cyc, 1);
		b->open_cycles++;
	}
}

/* A Sync or a Query ends a request cycle on the input side. */
static __always_inline void end_cycle_in(struct pf_backend_state *b)
{
	b->stmt_sampled = 0;
	b->stmt_parsed = 0;
	b->portal_sampled = 0;
	b->cycle_end[b->cyc_in & (PF_CYCLES - 1)] = b->in_seq;
	set_bit(b->cycle_sampled, b->cyc_in, b->cur_sampled);
	if (b->cur_sampled)
		b->open_cycles++;
	b->cur_sampled = 0;
	b->cyc_in++;
}

/* ---- records -------------------------------------------------------------- */

/* Wakeups: records do not wake the collector, which drains the ring on a
 * timer (every few ms while records come): a wakeup costs the backend that
 * makes it (~7 µs measured for one per request cycle), and the collector,
 * woken per record at low rates, preempted the very backend it traced. Only
 * what it must act on at once wakes it: a lock wait's beginning when its
 * blocker can be asked for (--postgres-url), a backend event — and the
 * record that takes the ring past a FILL_STEP mark, so that the timer can
 * back off to a second while records are few: a flood that starts in
 * between wakes the collector long before the ring is full. */
#define WAKE BPF_RB_FORCE_WAKEUP
#define FILL_STEP (1 << 20)

/* The flag for a record of size bytes that ends at `end` bytes of unread
 * data: a wakeup when it crosses a multiple of FILL_STEP. */
static __always_inline __u64 fill_wake(__u64 end, __u64 size)
{
	return end / FILL_STEP != (end - size) / FILL_STEP ? WAKE : BPF_RB_NO_WAKEUP;
}

/* For a reserved record (already counted in the unread data), and for one
 * about to be output. */
#define BATCHED_RESERVED(size) fill_wake(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA), (size))
#define BATCHED_OUTPUT(size) fill_wake(bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + (size), (size))

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
	bpf_ringbuf_submit(m, BATCHED_RESERVED(sizeof(*m)));
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

/* The caller has put the reply's query_id in the scratch record (five
 * arguments at most). */
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
	if (bpf_ringbuf_output(&events, r, size, BATCHED_OUTPUT(size)) != 0)
		count(PF_CNT_DROPPED);
}

static __always_inline int in_sampled_cycle(struct pf_backend_state *b)
{
	return b->proto == PF_PROTO_PLAIN && has_sampled(b);
}

/* How many followed backends have a sampled request cycle open: while none
 * has, the scheduler hook (on_switch) returns without looking anyone up —
 * most of the time at 1 % sampling. Kept where has_sampled() changes (the
 * protocol reader's recv and send) and at exit. It errs only high (a backend
 * entry replaced by a fork or deleted by user space in a cycle), which costs
 * lookups, never waits; a backend preempted between its reader's change and
 * the count loses that one preemption's wait. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} sampled_backends SEC(".maps");

/* After a recv or send of b (now: has_sampled(b) then, or 0 at its exit).
 * The backend's own flag, not a value from before the reader ran: a branch
 * taken before it would have the verifier check the reader twice. */
static __always_inline void sampled_count(struct pf_backend_state *b, int now)
{
	__u32 zero = 0;
	__s64 *n;
	if (b->counted == !!now || !(n = bpf_map_lookup_elem(&sampled_backends, &zero)))
		return;
	b->counted = !!now;
	__sync_fetch_and_add(n, now ? 1 : -1);
}

#endif
