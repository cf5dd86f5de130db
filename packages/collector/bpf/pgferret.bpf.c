// SPDX-License-Identifier: GPL-2.0
/* The kernel half of pgferret.
 *
 * The gate: every backend of an attached cluster is followed at its socket
 * with fexit programs on the kernel's recvfrom/sendto (their syscall
 * tracepoints, or the sys_exit tracepoint, where the kernel refuses them),
 * which cost a backend no trap. What it
 * receives (Query, Parse/Bind/Execute, Sync) says which statements carry a
 * sampled traceparent (read from the message in the receive buffer); what it
 * sends (CommandComplete, ErrorResponse, ReadyForQuery) says how each of them
 * ended. Only sampled statements produce records.
 *
 * Phases: user space attaches a few probes to the backends that carry
 * sampled statements, in those processes only (pid-filtered uprobes/USDT).
 * They time plan and execute for the unit being executed and stay silent
 * for the others.
 *
 * Units: each Query and each Execute a backend receives gets the next
 * number. Input hands them out, the phase probes follow the one executing,
 * output completes them in order, and ReadyForQuery ends a request cycle.
 *
 * Everything is bounded: fixed-size records, bpf_loop with constant limits,
 * per-CPU scratch space, drops and lost protocol sync counted.
 *
 * One object (one ring buffer, shared maps), in units that include each
 * other in this order:
 *   maps.bpf.h      maps, records, unit bookkeeping
 *   protocol.bpf.h  the protocol reader and the sampling decision
 *   gate.bpf.h      the hooks that feed it (recvfrom/sendto: fexit, syscall tracepoints or sys_exit; fork, exit)
 *   tls.bpf.h       encrypted backends: fed from be_tls_read/write (be_gssapi_*) probes
 *   inside.bpf.h    waits, buffer/WAL usage, lock waits, SPI
 *   phases.bpf.h    the per-backend phase probes
 *   profile.bpf.h   the per-statement CPU profile (a perf_event program)
 * Each unit's header comment lists its programs' verified instructions.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "pgferret.h"
#include "traceparent.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#include "maps.bpf.h"
#include "protocol.bpf.h"
#include "gate.bpf.h"
#include "tls.bpf.h"
#include "inside.bpf.h"
#include "phases.bpf.h"
#include "profile.bpf.h"
