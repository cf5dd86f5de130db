/* Phases: per-backend probes (pid-filtered uprobes/USDT, attached only to
 * backends that carry sampled statements) that mark plan and execution of the
 * unit being executed, and stay silent for the others.
 *
 * Verified instructions (Linux 6.18):
 *   uprobe_plan_begin        86
 *   uprobe_exec_begin       165
 *   uprobe_exec_end_site    515
 *   uretprobe_exec_end      515
 */
#ifndef PGFERRET_PHASES_BPF_H
#define PGFERRET_PHASES_BPF_H

/* ---- per-backend phase probes ----------------------------------------------- */

/* Attached only to backends that carry sampled statements; each hit finds
 * the unit being executed and records the mark only when it is sampled. */
static __always_inline int on_phase(__u32 kind)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	struct pf_backend_state *b = bpf_map_lookup_elem(&backends, &pid);
	if (!b)
		return 0;
	count(PF_CNT_PHASE_HITS);
	b->phases_seen = 1;
	__u32 unit = b->exec_seq;
	switch (kind) {
	case PF_MARK_EXEC_BEGIN:
		if (b->exec_depth++ > 0)
			return 0; /* a portal run inside another one (EXECUTE, FETCH) */
		break;
	case PF_MARK_EXEC_END:
		if (b->exec_depth == 0 || --b->exec_depth > 0)
			return 0;
		if (!unit_bit(b->query, unit))
			b->exec_seq++;
		break;
	default:
		if (b->exec_depth > 0)
			return 0; /* planning of a statement nested in a function */
		break;
	}
	if (!unit_bit(b->sampled, unit) || unit - b->out_base >= b->in_seq - b->out_base)
		return 0;
	if (kind == PF_MARK_EXEC_END && usage_end(pid, b, unit) == 0)
		return 0;
	emit_mark(pid, kind, unit, 0);
	if (kind == PF_MARK_EXEC_BEGIN)
		usage_begin(pid, b, unit);
	return 0;
}

/* Marks at function entries and USDT sites, one program per kind
 * (src/probes/tables.ts names them). */
#define UPROBE_PHASE(name, kind)                       \
	SEC("uprobe")                                  \
	int uprobe_##name(struct pt_regs *ctx)         \
	{                                              \
		return on_phase(kind);                 \
	}

UPROBE_PHASE(plan_begin, PF_MARK_PLAN_BEGIN)
UPROBE_PHASE(exec_begin, PF_MARK_EXEC_BEGIN)
UPROBE_PHASE(exec_end_site, PF_MARK_EXEC_END)

/* PortalRun's return: the end of execution, nested runs included. */
SEC("uretprobe")
int uretprobe_exec_end(struct pt_regs *ctx)
{
	return on_phase(PF_MARK_EXEC_END);
}

#endif
