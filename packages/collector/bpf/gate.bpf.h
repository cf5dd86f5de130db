/* The gate: trap-free tracepoints that follow every backend of an attached
 * cluster at its socket (raw_tp/sys_exit of recvfrom/sendto, handed to the
 * protocol reader), and its birth and exit.
 *
 * Verified instructions (Linux 6.18):
 *   on_sys_exit   54,591 (6.1: 28,776; 6.12: 40,337) (the protocol reader and the traceparent search)
 *   on_fork           61
 *   on_task_exit      92
 */
#ifndef PGFERRET_GATE_BPF_H
#define PGFERRET_GATE_BPF_H


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
	/* ciphertext: an encrypted backend is followed at its TLS/GSSAPI read and write (tls.bpf.h) */
	if (b->crypt)
		return 0;
	/* Only the client's socket is followed: up to 14 a backend also sends
	 * its statistics to the stats collector (a UDP socket, ~every 500 ms,
	 * before its ReadyForQuery), and postgres_fdw or dblink talk to other
	 * servers. The first receive of a backend is its client's (the startup
	 * packet; an adopted backend waits for its next query). */
	__u32 fd = (__u32)PT_REGS_PARM1_CORE(regs);
	if (!b->fd_known && nr == NR_RECVFROM) {
		b->client_fd = fd;
		b->fd_known = 1;
	}
	if (b->fd_known && fd != b->client_fd)
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

#endif
