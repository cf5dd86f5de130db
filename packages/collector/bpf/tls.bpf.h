/* Encrypted connections (TLS, GSSAPI): their socket carries ciphertext, so
 * the gate hands them over (went_encrypted) and user space arms that backend,
 * and only it, with pid-filtered probes on PostgreSQL's own secure_read and
 * secure_write (Port *, void *ptr, size_t len): every protocol byte passes
 * there in plaintext, whatever encrypts it. The entry keeps ptr, the return
 * feeds the bytes it says were moved to the same protocol reader the gate
 * uses. The probes come a few milliseconds after the handshake began: the
 * first plaintext seen decides where the reader starts (see the read return).
 *
 * Verified instructions (Linux 6.18):
 *   uprobe_tls_read          34
 *   uretprobe_tls_read   49,497 (6.1: 26,346; 6.12: 38,365) (the protocol reader's input side, as on_sys_exit)
 *   uprobe_tls_write         34
 *   uretprobe_tls_write   4,106 (6.1: 1,845; 6.12: 2,863) (the output side: completions, with the query id read)
 */
#ifndef PGFERRET_TLS_BPF_H
#define PGFERRET_TLS_BPF_H

/* The backend of this hit, counted; NULL when it is not an encrypted one. */
static __always_inline struct pf_backend_state *tls_backend(__u32 pid)
{
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b || !b->crypt)
		return NULL;
	count(PF_CNT_TLS_HITS);
	return b;
}

/* Whether buf holds a startup packet (int32 length, protocol 3.x). */
static __always_inline int startup_packet(const char *buf, __u32 len)
{
	__u8 p[8];
	if (len < 8 || bpf_probe_read_user(p, 8, buf))
		return 0;
	__u32 n = be32(p);
	return n >= 8 && n <= len && p[4] == 0 && p[5] == 3;
}
SEC("uprobe")
int uprobe_tls_read(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = tls_backend(pid);
	if (b)
		b->tls_read_buf = PT_REGS_PARM2(ctx);
	return 0;
}

SEC("uretprobe")
int uretprobe_tls_read(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = tls_backend(pid);
	if (!b)
		return 0;
	__u64 buf = b->tls_read_buf;
	long n = PT_REGS_RC(ctx);
	b->tls_read_buf = 0;
	/* no entry seen (the probes were attached while it ran), or nothing read */
	if (!buf || n <= 0)
		return 0;
	if (b->proto == PF_PROTO_TLS) {
		/* the first plaintext seen: the startup packet when the probes came in
		 * time for it (followed from there exactly, as a plaintext backend);
		 * else the backend was idle or between messages when they came, and
		 * what it reads next starts a message, as for an adopted backend */
		b->proto = startup_packet((const char *)buf, n) ? PF_PROTO_STARTUP : PF_PROTO_UNSYNCED;
		b->out_synced = 1;
		if (b->proto == PF_PROTO_STARTUP)
			return 0;
	}
	return on_recv(pid, b, (const char *)buf, n);
}

SEC("uprobe")
int uprobe_tls_write(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = tls_backend(pid);
	if (b)
		b->tls_write_buf = PT_REGS_PARM2(ctx);
	return 0;
}

SEC("uretprobe")
int uretprobe_tls_write(struct pt_regs *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = tls_backend(pid);
	if (!b)
		return 0;
	__u64 buf = b->tls_write_buf;
	long n = PT_REGS_RC(ctx);
	b->tls_write_buf = 0;
	if (!buf || n <= 0)
		return 0;
	if (b->proto == PF_PROTO_TLS) {
		/* first seen sending: in step again at the ReadyForQuery that ends a send */
		b->proto = PF_PROTO_UNSYNCED;
		b->out_synced = 0;
	}
	return on_send(pid, b, (const char *)buf, n);
}

#endif
