/* The per-statement CPU profile: a SEC("perf_event") program on the software
 * cpu-clock of each backend that carries sampled statements (attached per
 * process by src/arming/profile.ts).
 * It runs only at the clock's ticks of that backend, and sends the user
 * stack only while the backend is inside a sampled request cycle. Debian's
 * and PGDG's PostgreSQL keep frame pointers, so bpf_get_stack's frame-pointer
 * walk gives whole stacks without DWARF.
 *
 * Included last by pgferret.bpf.c: it uses the `backends` map, the `events`
 * ring buffer and in_sampled_cycle() (maps.bpf.h).
 *
 * Verified instructions (Linux 6.18):
 *   on_cpu_sample   98 (6.1: 99; 6.12: 99)
 */
#ifndef PGFERRET_PROFILE_BPF_H
#define PGFERRET_PROFILE_BPF_H

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pf_sample);
} sample_space SEC(".maps");

SEC("perf_event")
int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	if (!in_sampled_cycle(b)) {
		count(PF_CNT_SAMPLES_IDLE);
		return 0;
	}
	__u32 zero = 0;
	struct pf_sample *s = bpf_map_lookup_elem(&sample_space, &zero);
	if (!s)
		return 0;
	long n = bpf_get_stack(ctx, s->ips, sizeof s->ips, BPF_F_USER_STACK);
	if (n <= 0)
		return 0;
	s->h.type = PF_REC_SAMPLE;
	s->h.pid = pid;
	s->h.ts_ns = bpf_ktime_get_ns();
	s->unit = b->exec_seq;
	s->depth = n / 8;
	__u32 bytes = offsetof(struct pf_sample, ips) + BOUND(n, 1023);
	if (bytes > sizeof *s)
		return 0;
	if (bpf_ringbuf_output(&events, s, bytes, 0))
		count(PF_CNT_DROPPED);
	else
		count(PF_CNT_SAMPLES);
	return 0;
}

#endif
