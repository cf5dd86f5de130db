// SPDX-License-Identifier: GPL-2.0
/* bench/traps: one program for every probe point, shaped like the phase
 * probes' path for a backend they do not record for (a pid lookup), plus a
 * hit counter the bench checks against the calls it made. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int hit(void)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32, zero = 0;
	__u64 *n = bpf_map_lookup_elem(&hits, &zero);
	if (bpf_map_lookup_elem(&pids, &pid))
		return 0;
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

SEC("uprobe")
int on_entry(struct pt_regs *ctx)
{
	return hit();
}

SEC("uretprobe")
int on_return(struct pt_regs *ctx)
{
	return hit();
}
