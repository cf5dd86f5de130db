// Turns a failed native call (errno + libbpf's log) into a BpfError whose
// message names the cause and the fix.
import * as fs from 'node:fs';
import { constants } from 'node:os';
import { missingBpfCapabilities } from './capabilities';
import { BpfError } from './errors';
import { forwardLog, importantLines } from './log';
import { native, type NativeLogEntry } from './native';

const { EPERM, ENOENT, ESRCH, EEXIST, E2BIG } = constants.errno;

export const BTF_PATH = '/sys/kernel/btf/vmlinux';
const UPROBE_PMU = '/sys/bus/event_source/devices/uprobe';

export interface Context {
  op: 'open' | 'load' | 'attach' | 'map' | 'ringBuffer' | 'testRun' | 'constant';
  what?: string; // human description of the target, e.g. "uprobe on /usr/bin/x:foo"
  source?: string;
  program?: string;
  programs?: () => string[];
  binaryPath?: string;
  symbol?: string;
  usdt?: string;
  kind?: 'uprobe' | 'usdt' | 'tracepoint' | 'trace' | 'perf_event';
  pid?: number;
}

interface NativeFailure extends Error {
  errno?: number;
  op?: string;
  nativeCode?: string;
}

/** Runs a native call, forwards libbpf's log, converts failures. */
export function nativeCall<T>(ctx: Context, fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (e) {
    const log = native().takeLog();
    forwardLog(log);
    throw explain(e, ctx, log);
  }
  forwardLog(native().takeLog());
  return result;
}

function permissionError(action: string, errno: number, log: string): BpfError {
  const missing = missingBpfCapabilities();
  if (missing.length) {
    return new BpfError(
      'EPERM_CAPABILITY',
      `${action} was refused: this process lacks ${missing.join(' and ')}. ` +
        'Run it as root, or grant the capabilities to this program only: file capabilities on a private copy of node that ' +
        'only its service user may execute (never `setcap` the system node: every Node program on the host would get them), ' +
        'or `--cap-add BPF --cap-add PERFMON` for a container.',
      { errno, libbpfLog: log },
    );
  }
  return new BpfError(
    'EPERM',
    `${action} was refused although the process has CAP_BPF and CAP_PERFMON: ` +
      'check kernel lockdown (/sys/kernel/security/lockdown), seccomp profiles and LSM policies (AppArmor/SELinux) that block bpf() or perf_event_open().',
    { errno, libbpfLog: log },
  );
}

function extractVerifierLog(entries: NativeLogEntry[]): string | undefined {
  const logs: string[] = [];
  for (const e of entries) {
    const m = /-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/.exec(e.message);
    if (m) logs.push(m[1]);
  }
  return logs.length ? logs.join('\n') : undefined;
}

/** The program libbpf names in its load failure: "prog 'NAME': BPF program load failed" / "prog 'NAME': failed to load". */
function programOf(log: string): string | undefined {
  return /prog '([^']+)': (?:BPF program load failed|failed to load)/.exec(log)?.[1] ?? /prog '([^']+)'/.exec(log)?.[1];
}

export function explain(e: unknown, ctx: Context, entries: NativeLogEntry[]): BpfError {
  if (e instanceof BpfError) return e;
  const f = e as NativeFailure;
  const log = importantLines(entries);
  const errno = f.errno;
  const detail = f.message;
  const extra = { errno, libbpfLog: log, cause: e };

  if (f.nativeCode === 'CLOSED') return new BpfError('CLOSED', 'the BPF object is closed: open and load it again', extra);
  if (f.nativeCode === 'NOT_LOADED') return new BpfError('NOT_LOADED', `${detail}: call load() first`, extra);
  if (f.nativeCode) return new BpfError(f.nativeCode, detail, extra);

  if (f.op === 'bpf_object__find_program_by_name') {
    const names = ctx.programs?.() ?? [];
    return new BpfError('PROGRAM_NOT_FOUND', `no BPF program named '${ctx.program}' in this object; it has: ${names.join(', ') || '(none)'}`, extra);
  }
  if (errno === EPERM) {
    const refused = permissionError(ctx.what ?? ctx.op, errno, log);
    // a kernel may refuse one program type to a capable process (a hardened build refusing tracing programs):
    // which program it was lets the caller load without it
    if (ctx.op === 'load') refused.program = programOf(log);
    return refused;
  }

  switch (ctx.op) {
    case 'open':
      if (errno === ENOENT && typeof ctx.source === 'string' && !fs.existsSync(ctx.source))
        return new BpfError('OBJECT_NOT_FOUND', `BPF object file ${ctx.source} does not exist: build it first (buildBpfObject) or fix the path`, extra);
      return new BpfError(
        'INVALID_OBJECT',
        `${ctx.source ?? 'the buffer'} is not a valid BPF object (${detail}): compile it with \`clang -target bpf -O2 -g\` ` +
          `(buildBpfObject does this)${log ? '; libbpf said: ' + log.trim() : ''}`,
        extra,
      );
    case 'load': {
      if (!fs.existsSync(BTF_PATH))
        return new BpfError('NO_BTF', `loading failed and this kernel has no BTF (${BTF_PATH} is missing): run a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8 are)`, extra);
      const verifierLog = extractVerifierLog(entries);
      const program = programOf(log);
      if (verifierLog !== undefined) {
        const tail = verifierLog.trim().split('\n').slice(-3).join(' | ');
        return new BpfError(
          'VERIFIER',
          `the kernel verifier rejected a program${program ? ` ('${program}')` : ''}: ${tail}. ` +
            'Fix the BPF C code; the full verifier output is in error.verifierLog',
          { ...extra, program, verifierLog, libbpfLog: log.replace(/-- BEGIN PROG LOAD LOG --\n[\s\S]*?-- END PROG LOAD LOG --\n/g, '(verifier log: see error.verifierLog)\n') },
        );
      }
      return new BpfError('LOAD_FAILED', `loading the BPF object failed${program ? ` at program '${program}'` : ''} (${detail})${log ? ': ' + log.trim() : ''}. Set PGFERRET_BPF_DEBUG=1 to see libbpf's full log`, { ...extra, program });
    }
    case 'attach':
      return attachError(ctx, errno, detail, log, extra);
    case 'testRun':
      return new BpfError('TEST_RUN_FAILED', `BPF_PROG_TEST_RUN of '${ctx.program}' failed (${detail}): only some program types (raw_tp, syscall, xdp, tc…) can be test-run`, extra);
    case 'ringBuffer':
      return new BpfError('MAP_OP_FAILED', `${ctx.what}: ${detail}`, extra);
    case 'map':
      if (errno === E2BIG) return new BpfError('MAP_FULL', `${ctx.what}: the map is full (max_entries reached); delete entries or raise max_entries`, extra);
      if (errno === EEXIST) return new BpfError('KEY_EXISTS', `${ctx.what}: the key already exists (flag 'noexist')`, extra);
      if (errno === ENOENT) return new BpfError('KEY_NOT_FOUND', `${ctx.what}: the key does not exist (flag 'exist')`, extra);
      return new BpfError('MAP_OP_FAILED', `${ctx.what}: ${detail}`, extra);
    default:
      return new BpfError('BPF_FAILED', `${ctx.what ?? ctx.op}: ${detail}`, extra);
  }
}

function attachError(ctx: Context, errno: number | undefined, detail: string, log: string, extra: { errno?: number; libbpfLog?: string; cause?: unknown }): BpfError {
  const where = ctx.what ?? 'attach';
  if ((ctx.kind === 'uprobe' || ctx.kind === 'usdt') && !fs.existsSync(UPROBE_PMU))
    return new BpfError('NO_UPROBES', `${where} failed: this kernel has no uprobe support (${UPROBE_PMU} is missing); use a kernel with CONFIG_UPROBE_EVENTS=y`, extra);
  if (errno === ESRCH)
    return new BpfError('PROCESS_NOT_FOUND', `${where} failed: process ${ctx.pid} does not exist (it may have exited); rediscover the target process`, extra);
  if (ctx.kind === 'uprobe' && errno === ENOENT && ctx.symbol)
    return new BpfError(
      'SYMBOL_NOT_FOUND',
      `symbol '${ctx.symbol}' was not found in ${ctx.binaryPath}: check the name (list functions with \`nm -D ${ctx.binaryPath}\` / \`nm ${ctx.binaryPath}\`); stripped binaries keep only exported (.dynsym) symbols, and static functions may be inlined`,
      extra,
    );
  if (ctx.kind === 'usdt' && (errno === ENOENT || errno === ESRCH))
    return new BpfError(
      'USDT_NOT_FOUND',
      `USDT probe ${ctx.usdt} was not found in ${ctx.binaryPath}: list its probes with \`readelf -n ${ctx.binaryPath}\` (notes of type stapsdt); ` +
        'the program must be built with USDT probes (for PostgreSQL: --enable-dtrace, as Debian/PGDG packages are)',
      extra,
    );
  if (ctx.kind === 'tracepoint' && errno === ENOENT) {
    if (!fs.existsSync('/sys/kernel/tracing/events') && !fs.existsSync('/sys/kernel/debug/tracing/events'))
      return new BpfError(
        'NO_TRACEFS',
        `${where} failed: tracefs is not mounted, and SEC("tracepoint/..") programs need it to look up the tracepoint id. ` +
          'Mount it (`mount -t tracefs nodev /sys/kernel/tracing`) or write the program as SEC("raw_tp/<name>"), which attaches without tracefs',
        extra,
      );
    return new BpfError('TRACEPOINT_NOT_FOUND', `${where} failed: no such tracepoint; list them under /sys/kernel/tracing/events`, extra);
  }
  // ENOTSUPP (524, kernel-internal) or EOPNOTSUPP: no BPF trampolines on this kernel or architecture
  if (ctx.kind === 'trace' && (errno === 524 || errno === 95))
    return new BpfError('ATTACH_FAILED', `${where} failed: this kernel cannot attach fentry/fexit programs (BPF trampolines; CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) (${detail})`, extra);
  // BPF_MAX_TRAMP_LINKS: a kernel function's trampoline holds 38 fentry/fexit programs (27 on s390x)
  if (ctx.kind === 'trace' && errno === E2BIG)
    return new BpfError('ATTACH_FAILED', `${where} failed: the kernel function's BPF trampoline is full — other tools' fentry/fexit programs hold all its slots (see \`bpftool link show\`; detach some) (${detail})`, extra);
  return new BpfError('ATTACH_FAILED', `${where} failed (${detail})${log ? ': ' + log.trim() : ''}`, extra);
}

