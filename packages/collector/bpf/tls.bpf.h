/* Encrypted connections (TLS, GSSAPI): their socket carries ciphertext, so
 * the gate hands them over (went_encrypted) to probes on PostgreSQL's own
 * be_tls_read/be_tls_write (Port *, void *ptr, size_t len, int *waitfor) and
 * be_gssapi_read/be_gssapi_write (Port *, void *ptr, size_t len), the same
 * in every major since 13: every protocol byte of an encrypted backend passes
 * there in plaintext. Only secure_read/secure_write call them, and only for an
 * encrypted connection, so the probes are attached once per cluster binary
 * when it is attached (no pid filter): a plaintext backend never executes
 * them, and an encrypted one is covered from its first byte. The entry keeps
 * ptr, the return feeds the bytes it says were moved to the same protocol
 * reader the gate uses; the first plaintext seen decides where the reader
 * starts (see the read return).
 *
 * Verified instructions (Linux 6.18):
 *   uprobe_tls_read          35
 *   uretprobe_tls_read   64,109 (6.1: 55,750; 6.12: 85,584) (the protocol reader's input side, as the socket programs)
 *   uprobe_tls_write         35
 *   uretprobe_tls_write   4,469 (6.1: 2,357; 6.12: 3,282) (the output side: completions, with the query id read)
 */
#ifndef PGFERRET_TLS_BPF_H
#define PGFERRET_TLS_BPF_H

/* The backend of this hit (every hit counted); NULL when it is not a
 * followed encrypted one (another cluster running the same binary, or the
 * collector started after it negotiated and the gate has not seen its
 * ciphertext yet). */
static __always_inline struct pf_backend_state *tls_backend(__u32 pid)
{
	count(PF_CNT_TLS_HITS);
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b || !b->crypt)
		return NULL;
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
		/* the first plaintext seen: the startup packet of a new connection
		 * (followed from there exactly, as a plaintext backend); else an
		 * adopted backend found speaking TLS, idle or between messages, and
		 * what it reads next starts a message */
		b->proto = startup_packet((const char *)buf, n) ? PF_PROTO_STARTUP : PF_PROTO_UNSYNCED;
		b->out_synced = 1;
		if (b->proto == PF_PROTO_STARTUP)
			return 0;
	}
	on_recv(pid, b, (const char *)buf, n);
	sampled_count(b, has_sampled(b));
	return 0;
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
	on_send(pid, b, (const char *)buf, n);
	sampled_count(b, has_sampled(b));
	return 0;
}

#endif
