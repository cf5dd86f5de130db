// SPDX-License-Identifier: GPL-2.0
/* For the kernel matrix's check: an fexit program on the function the
 * collector's socket gate hooks, attached as many times as the kernel allows
 * (one link per loaded copy). With every slot of __sys_recvfrom's BPF
 * trampoline taken, as another tool could take them, the collector's own
 * fexit program loads but cannot attach: the path to sys_exit it must take. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fexit/__sys_recvfrom")
int BPF_PROG(fill_recvfrom)
{
	return 0;
}
