// Loads the collector's BPF object into the kernel. The gate (socket
// following) must load; each optional feature whose programs the kernel
// refuses is left out — once, with the reason logged and shown in status —
// and the rest loads without it.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BpfError, BpfObject, hasProgramType, hasUprobeMulti, PROGRAM_TYPES, type BpfLink, type ProgramInfo } from '@pgferret/bpf-loader';
import { Programs, type ProgramName } from './bpf-names';
import { checkKernel } from './requirements';
import { syscallTracepointsMissing } from './tracefs';

/** The verifier's limit is 1M instructions per program; a program above a quarter of it has no margin for the next kernel build. */
export const VERIFIER_BUDGET = 250_000;

export type OptionalFeature = 'phases' | 'waits' | 'locks' | 'nested' | 'tls' | 'profile';
export const OPTIONAL_FEATURES: OptionalFeature[] = ['phases', 'waits', 'locks', 'nested', 'tls', 'profile'];

/**
 * How the gate sees a backend's recv() and send(), best first: trampolines on the kernel's __sys_recvfrom and
 * __sys_sendto (fexit: only those calls pay); else the two syscalls' own exit tracepoints (every other syscall on the
 * host takes the kernel's syscall-tracing path, ~70 ns on a 6.18 VM, but runs no program); else the sys_exit
 * tracepoint (every syscall of every process runs the program: ~170 ns). BENCHMARKS.md "The socket gate at the
 * syscalls' own tracepoints".
 */
export const SOCKET_HOOKS = ['fexit', 'syscalls', 'sys_exit'] as const;
export type SocketHook = (typeof SOCKET_HOOKS)[number];
export const SOCKET_PROGRAMS: Record<SocketHook, readonly ProgramName[]> = {
  fexit: [Programs.on_recvfrom, Programs.on_sendto],
  syscalls: [Programs.on_exit_recvfrom, Programs.on_exit_sendto],
  sys_exit: [Programs.on_sys_exit],
};
const SYSCALL_TRACEPOINTS: Record<string, string> = { [Programs.on_exit_recvfrom]: 'sys_exit_recvfrom', [Programs.on_exit_sendto]: 'sys_exit_sendto' };

/** What following sockets with a hook costs the host, for the line that says the gate fell back to it. */
export const SOCKET_HOOK_COST: Record<SocketHook, string> = {
  fexit: 'only recv() and send() pay',
  syscalls: "the recvfrom/sendto syscall tracepoints: every other syscall on the host takes the kernel's syscall-tracing path (~70 ns)",
  sys_exit: 'the sys_exit tracepoint, which every syscall on the host pays for (~170 ns)',
};

/** The hook after `hook`, or null after the last. */
function nextHook(hook: SocketHook): SocketHook | null {
  return SOCKET_HOOKS[SOCKET_HOOKS.indexOf(hook) + 1] ?? null;
}

/** The hook PGFERRET_SOCKET_HOOK forces (the benches' A/B arms, a kernel whose better hook misbehaves), else null. */
function forcedHook(): SocketHook | null {
  const v = process.env.PGFERRET_SOCKET_HOOK;
  if (v === undefined || v === '') return null;
  if (!(SOCKET_HOOKS as readonly string[]).includes(v)) throw new Error(`PGFERRET_SOCKET_HOOK='${v}' is not a socket hook: use one of ${SOCKET_HOOKS.join(', ')}, or unset it`);
  return v as SocketHook;
}

/** Every program of the BPF object (pgferret.bpf.c and the units it includes), by what it serves (a test checks this covers the object). */
export const PROGRAMS: Record<'gate' | OptionalFeature, readonly ProgramName[]> = {
  gate: [...SOCKET_PROGRAMS.fexit, ...SOCKET_PROGRAMS.syscalls, ...SOCKET_PROGRAMS.sys_exit, Programs.on_fork, Programs.on_task_exit],
  phases: [Programs.uprobe_plan_begin, Programs.uprobe_exec_begin, Programs.uprobe_exec_end_site, Programs.uretprobe_exec_end],
  waits: [Programs.on_switch],
  locks: [Programs.uprobe_lock_wait, Programs.uretprobe_lock_wait],
  nested: [Programs.uprobe_spi_plan, Programs.uprobe_spi_text, Programs.uretprobe_spi_end],
  /** encrypted backends followed at be_tls_read/be_tls_write and the GSSAPI pair (tls.bpf.h) */
  tls: [Programs.uprobe_tls_read, Programs.uretprobe_tls_read, Programs.uprobe_tls_write, Programs.uretprobe_tls_write],
  /** the CPU profile of sampled statements (profile.bpf.h) */
  profile: [Programs.on_cpu_sample],
};

/**
 * The uprobe programs (per backend, and the encrypted backends' per binary).
 * On a kernel with uprobe_multi links (Linux >= 6.6) they are loaded for
 * them: one link per program and backend, whatever its number of sites, and
 * removing it waits for one grace period instead of five per site under a
 * global kernel mutex (BENCHMARKS.md "Probe removal").
 */
export const UPROBE_PROGRAMS: readonly ProgramName[] = [...PROGRAMS.phases, ...PROGRAMS.locks, ...PROGRAMS.nested, ...PROGRAMS.tls];

export function featureOf(program: string): 'gate' | OptionalFeature | null {
  for (const [f, progs] of Object.entries(PROGRAMS)) if ((progs as readonly string[]).includes(program)) return f as 'gate' | OptionalFeature;
  return null;
}

export interface LoadedProbes {
  obj: BpfObject;
  /** per optional feature: null when loaded, else why the kernel refused it */
  refused: Record<OptionalFeature, string | null>;
  programs: ProgramInfo[];
  /** the uprobe programs attach with uprobe_multi links (else one perf-event uprobe per site) */
  uprobeMulti: boolean;
  /** how the gate follows sockets; the other hook's programs are not loaded */
  socketHook: SocketHook;
  /** why the gate runs on a hook other than fexit (null: fexit, or the hook PGFERRET_SOCKET_HOOK forced) */
  socketFallback: string | null;
}

/**
 * Says, once, that the gate falls back from `from` and why; the hook it falls
 * back to, and the reasons so far with this one (status says why no better
 * hook is used).
 */
function fellBack(log: (m: string) => void, from: SocketHook, why: string, before: string | null): { hook: SocketHook; reasons: string } {
  const hook = nextHook(from);
  if (!hook) throw new GateRefusedError(`the kernel (Linux ${os.release()}) refused every way of following sockets (the last: ${why}); nothing can be traced without one: run with PGFERRET_BPF_DEBUG=1 and report it`);
  log(`following sockets at ${SOCKET_HOOK_COST[hook]}: ${why}`);
  return { hook, reasons: before ? `${before}; then ${why}` : why };
}

export class GateRefusedError extends Error {
  readonly code = 'GATE_REFUSED';
}

/** What the kernel said, in a line: the verifier's last words, else libbpf's error. */
function refusal(e: unknown): string {
  if (e instanceof BpfError && e.verifierLog) {
    const lines = e.verifierLog.trim().split('\n').filter((l) => l.trim() !== '');
    const last = lines.slice(-2).join(' | ');
    const helper = /(?:invalid func|unknown func) (\w+#\d+)/.exec(e.verifierLog)?.[1];
    return helper ? `this kernel lacks the BPF helper ${helper} (${last})` : `the verifier said: ${last}`;
  }
  return (e as Error).message;
}

/**
 * uprobeMulti: false loads the uprobe programs for perf-event uprobes even where uprobe_multi links exist (bench/removal's
 * A/B); by default they are used where the kernel has them, unless PGFERRET_UPROBE_MULTI=0 (a kernel whose uprobe_multi
 * links misbehave; the budget test's A/B).
 * socketHook: the one to try first (default fexit, unless PGFERRET_SOCKET_HOOK names another); a hook the kernel lacks
 * or refuses falls back to the next (SOCKET_HOOKS), saying why.
 */
export function loadProbes(file: string, log: (m: string) => void, opts: { uprobeMulti?: boolean; socketHook?: SocketHook; socketFallback?: string } = {}): LoadedProbes {
  if (!fs.existsSync(file)) {
    throw new Error(`the BPF object ${file} does not exist: give --bpf-object an existing file, or build the package's own with \`npm run build\` (needs clang and bpftool)`);
  }
  checkKernel();
  const refused: Record<OptionalFeature, string | null> = { phases: null, waits: null, locks: null, nested: null, tls: null, profile: null };
  const uprobeMulti = (opts.uprobeMulti ?? process.env.PGFERRET_UPROBE_MULTI !== '0') && hasUprobeMulti() === true;
  const forced = opts.socketHook === undefined ? forcedHook() : null;
  let socketHook: SocketHook = opts.socketHook ?? forced ?? 'fexit';
  let socketFallback = opts.socketFallback ?? null;
  // the syscall tracepoints are found in tracefs: where they are not, the next hook
  const checkTracefs = () => {
    const missing = socketHook === 'syscalls' ? syscallTracepointsMissing(log) : null;
    if (missing) fallBack(missing);
  };
  const fallBack = (why: string) => {
    ({ hook: socketHook, reasons: socketFallback } = fellBack(log, socketHook, why, socketFallback));
    checkTracefs();
  };
  // asked first: a kernel that lacks a hook would be asked to verify the whole object once for nothing
  if (opts.socketHook === undefined && !forced && hasProgramType(PROGRAM_TYPES.tracing) === false) {
    fallBack('this kernel allows no tracing programs (fentry/fexit), not even to a process with CAP_BPF and CAP_PERFMON');
  } else {
    checkTracefs();
  }
  // at most one more attempt per optional feature, and one per socket hook fallen back from
  for (let attempt = 0; attempt < OPTIONAL_FEATURES.length + SOCKET_HOOKS.length; attempt++) {
    const obj = BpfObject.open(file);
    try {
      for (const f of OPTIONAL_FEATURES) if (refused[f] !== null) for (const p of PROGRAMS[f]) obj.setAutoload(p, false);
      for (const h of SOCKET_HOOKS) if (h !== socketHook) for (const p of SOCKET_PROGRAMS[h]) obj.setAutoload(p, false);
      if (uprobeMulti) for (const p of UPROBE_PROGRAMS) obj.setUprobeMulti(p);
      obj.load();
      return { obj, refused, programs: obj.programInfo(), uprobeMulti, socketHook, socketFallback };
    } catch (e) {
      obj.close();
      if (!(e instanceof BpfError)) throw e;
      const program = e.program;
      // a kernel without trampolines, or one that refuses tracing programs even to root (EPERM: a hardened build); one
      // without bpf_task_pt_regs (before 5.15) for the syscall tracepoints; the last hook refused is the gate refused (below)
      if (nextHook(socketHook) && program && (SOCKET_PROGRAMS[socketHook] as readonly string[]).includes(program) && ['VERIFIER', 'LOAD_FAILED', 'EPERM'].includes(e.code)) {
        fallBack(`the kernel refused its ${socketHook} program ${program}: ${e.code === 'EPERM' ? `not permitted (EPERM) to a process with CAP_BPF and CAP_PERFMON: this kernel allows no ${socketHook === 'fexit' ? 'tracing programs' : 'such program'}` : refusal(e)}`);
        continue;
      }
      // privileges, a missing object…: not the kernel refusing a program
      if (e.code !== 'VERIFIER' && e.code !== 'LOAD_FAILED') throw e;
      const feature = program ? featureOf(program) : null;
      if (!program || !feature || feature === 'gate' || refused[feature] !== null) {
        throw new GateRefusedError(
          `the kernel (Linux ${os.release()}) refused the collector's ${program ? `program ${program}` : 'BPF object'}` +
            `${feature === 'gate' || !feature ? ', which follows statements at the socket: nothing can be traced without it' : ''}. ` +
            `${refusal(e)}. The kernels pgferret is tested on are listed in the README ("Supported kernels"); ` +
            'run with PGFERRET_BPF_DEBUG=1 for libbpf\'s full log and report it.',
          { cause: e },
        );
      }
      refused[feature] = `the kernel refused its BPF program ${program}: ${refusal(e)}`;
      log(`running without ${feature}: ${refused[feature]}`);
    }
  }
  throw new GateRefusedError('the kernel refused the socket hooks, every optional feature of the collector and then the rest too: run with PGFERRET_BPF_DEBUG=1 and report it');
}

/** Attaches the gate's socket programs of the hook the object was loaded for. */
export function attachSocketHook(loaded: LoadedProbes): BpfLink[] {
  if (loaded.socketHook === 'sys_exit') return [loaded.obj.attachTracepoint({ program: Programs.on_sys_exit, category: 'raw_syscalls', name: 'sys_exit' })];
  const links: BpfLink[] = [];
  try {
    for (const p of SOCKET_PROGRAMS[loaded.socketHook]) {
      links.push(loaded.socketHook === 'fexit' ? loaded.obj.attachTrace(p) : loaded.obj.attachTracepoint({ program: p, category: 'syscalls', name: SYSCALL_TRACEPOINTS[p] }));
    }
  } catch (e) {
    for (const l of links) l.detach();
    throw e;
  }
  return links;
}

/**
 * The object and its attached socket hook. Where the kernel loads a hook's programs but will not attach them (fexit: no
 * BPF trampolines, another tool holding a function's every trampoline slot), the object the collector loaded itself is
 * loaded again for the next hook; one it was given is not.
 */
export function loadWithSocketHook(file: string, log: (m: string) => void, given?: LoadedProbes): { loaded: LoadedProbes; links: BpfLink[] } {
  let loaded = given ?? loadProbes(file, log);
  for (;;) {
    try {
      return { loaded, links: attachSocketHook(loaded) };
    } catch (e) {
      if (!given) loaded.obj.close();
      if (given || loaded.socketHook === 'sys_exit') throw e;
      const why = `the kernel would not attach its ${loaded.socketHook} programs: ${(e as Error).message}`;
      // loaded for the next hook, which checks tracefs for the syscall tracepoints and adds its own reasons
      const next = fellBack(log, loaded.socketHook, why, loaded.socketFallback);
      loaded = loadProbes(file, log, { socketHook: next.hook, socketFallback: next.reasons });
    }
  }
}
