/* The gate: trap-free hooks that follow every backend of an attached
 * cluster at its socket (fexit on the kernel's __sys_recvfrom/__sys_sendto,
 * else the two syscalls' exit tracepoints, else raw_tp/sys_exit; handed to
 * the protocol reader), and its birth and exit.
 *
 * Verified instructions (6.1 / 6.12 / 6.18; the kernel matrix):
 *   on_recvfrom       55,898 / 86,110 / —  (the protocol reader and the traceparent search)
 *   on_sendto          2,417 /  3,509 / —
 *   on_exit_recvfrom  55,907 / 86,109 / 64,565 (6.18 on this project's machines allows no tracing programs)
 *   on_exit_sendto     2,410 /  3,508 /  4,794
 *   on_sys_exit       57,045 / 88,694 / 68,480 (both; the matrix loads every hook for its margin)
 *   on_fork              118 /     99 / 98
 *   on_task_exit         129 /    110 / 109
 */
#ifndef PGFERRET_GATE_BPF_H
#define PGFERRET_GATE_BPF_H


/* One receive (recv) or send of followed backend pid: its bytes go to the
 * protocol reader. */
static __always_inline int on_socket(__u32 pid, struct pf_backend_state *b, __u32 fd, const char *buf, long ret, int recv)
{
	if (ret <= 0)
		return 0;
	/* ciphertext: an encrypted backend is followed at its TLS/GSSAPI read and write (tls.bpf.h) */
	if (b->crypt)
		return 0;
	/* Only the client's socket is followed: up to 14 a backend also sends
	 * its statistics to the stats collector (a UDP socket, ~every 500 ms,
	 * before its ReadyForQuery), and postgres_fdw or dblink talk to other
	 * servers. The first receive of a backend is its client's (the startup
	 * packet; an adopted backend waits for its next query). */
	if (!b->fd_known && recv) {
		b->client_fd = fd;
		b->fd_known = 1;
	}
	if (b->fd_known && fd != b->client_fd)
		return 0;
	if (recv)
		on_recv(pid, b, buf, ret);
	else
		on_send(pid, b, buf, ret);
	sampled_count(b, has_sampled(b));
	return 0;
}

/* PostgreSQL's recv() and send() are the recvfrom and sendto syscalls, which
 * end in these two kernel functions: a trampoline on each (fexit) costs only
 * the processes that call them. The other processes' syscalls pay nothing —
 * unlike the sys_exit tracepoint below, which every syscall of every process
 * on the host takes (~170 ns each on a 6.18 VM, BENCHMARKS.md). */
SEC("fexit/__sys_recvfrom")
int BPF_PROG(on_recvfrom, int fd, void *ubuf, __u64 size, __u32 flags, void *addr, void *addr_len, int ret)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	return b ? on_socket(pid, b, fd, ubuf, ret, 1) : 0;
}

SEC("fexit/__sys_sendto")
int BPF_PROG(on_sendto, int fd, void *buff, __u64 len, __u32 flags, void *addr, int addr_len, int ret)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	return b ? on_socket(pid, b, fd, buff, ret, 0) : 0;
}

/* A syscall's own exit tracepoint (syscalls:sys_exit_recvfrom), as its
 * format file lays it out: the syscall's arguments are not in it. */
struct pf_syscall_exit {
	__u64 common;
	int nr;
	long ret;
};

/* The same at the two syscalls' own tracepoints, for a kernel that refuses
 * the trampolines above (no BTF of those functions, no tracing programs at
 * all): another syscall pays the kernel's syscall-tracing path and a bit
 * test (~70 ns on a 6.18 VM), not a program run (~150 ns with the one
 * below). The arguments are not in the tracepoint's record: they are read
 * from the task's saved registers (a trusted pointer: plain loads, no helper
 * call), and only for a followed backend. Loaded and attached only then
 * (kernel/load.ts). */
static __always_inline int on_exit_tp(long ret, int recv)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b || ret <= 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	return on_socket(pid, b, (__u32)SYSCALL_FD(regs), (const char *)SYSCALL_BUF(regs), ret, recv);
}

SEC("tp/syscalls/sys_exit_recvfrom")
int on_exit_recvfrom(struct pf_syscall_exit *ctx)
{
	return on_exit_tp(ctx->ret, 1);
}

SEC("tp/syscalls/sys_exit_sendto")
int on_exit_sendto(struct pf_syscall_exit *ctx)
{
	return on_exit_tp(ctx->ret, 0);
}

/* The same at the sys_exit tracepoint, which every syscall of every process
 * takes: for a kernel without the syscall tracepoints (no
 * CONFIG_FTRACE_SYSCALLS, no tracefs). Its pt_regs is a raw pointer: read
 * with helpers (on arm64 the first argument at orig_x0: the _SYSCALL reads). */
SEC("raw_tp/sys_exit")
int on_sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	long ret = (long)ctx->args[1];
	if (!b || ret <= 0)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	long nr = SYSCALL_NR(regs);
	if (nr != NR_RECVFROM && nr != NR_SENDTO)
		return 0;
	return on_socket(pid, b, (__u32)PT_REGS_PARM1_CORE_SYSCALL(regs), (const char *)PT_REGS_PARM2_CORE_SYSCALL(regs), ret, nr == NR_RECVFROM);
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
	/* the state is too big for the stack: inserted zeroed, then filled in */
	__u32 zero = 0;
	struct pf_backend_state *fresh = bpf_map_lookup_elem(&backend_zero, &zero);
	if (!fresh || bpf_map_update_elem(&backends, &pid, fresh, BPF_ANY))
		return 0;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (b) {
		b->ppid = ppid;
		b->proto = PF_PROTO_STARTUP;
	}
	/* one record per connection: its probes can be in place before its first statement */
	emit_backend(pid, ppid, PF_BACKEND_FORK);
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
	/* an exit inside a sampled cycle (a FATAL error, a terminated backend) ends its count */
	sampled_count(b, 0);
	bpf_map_delete_elem(&backends, &pid);
	bpf_map_delete_elem(&long_msgs, &pid);
	bpf_map_delete_elem(&usage_begins, &pid);
	return 0;
}

#endif
