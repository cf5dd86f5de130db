// SPDX-License-Identifier: GPL-2.0
/* Control hooks for bench/hooks: programs that do nothing, on the collector's
 * tracepoints. What a workload loses to one of them is what any program on
 * that tracepoint costs (tracepoint enabled, dispatch, program call); the
 * collector's arm minus this one is what its own filtering adds. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/sys_exit")
int empty_sys_exit(void *ctx)
{
	return 0;
}

SEC("raw_tp/sched_switch")
int empty_sched_switch(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_recvfrom")
int empty_exit_recvfrom(void *ctx)
{
	return 0;
}
