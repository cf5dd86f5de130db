// Capabilities of this process: read from /proc/self/status to turn a bare
// EPERM into "you are missing CAP_BPF / CAP_PERFMON", and dropped for good
// once a tool has loaded and attached what it needs.
import * as fs from 'node:fs';
import { BpfError } from './errors';
import { native } from './native';

/** The capabilities a BPF tool usually weighs, by their number in linux/capability.h. */
export const CAPABILITIES = {
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_SETPCAP: 8,
  CAP_NET_ADMIN: 12,
  CAP_IPC_LOCK: 14,
  CAP_SYS_MODULE: 16,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_RESOURCE: 24,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
} as const;
export type CapabilityName = keyof typeof CAPABILITIES;

const { CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF } = CAPABILITIES;

export function effectiveCapabilities(): bigint {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  return m ? BigInt('0x' + m[1]) : 0n;
}

/** Capabilities that loading and attaching BPF programs needs and this process lacks. */
export function missingBpfCapabilities(caps = effectiveCapabilities()): string[] {
  const has = (bit: number) => (caps & (1n << BigInt(bit))) !== 0n;
  // CAP_SYS_ADMIN still implies both on every kernel that has them.
  if (has(CAP_SYS_ADMIN)) return [];
  const missing: string[] = [];
  if (!has(CAP_BPF)) missing.push('CAP_BPF');
  if (!has(CAP_PERFMON)) missing.push('CAP_PERFMON');
  return missing;
}

export interface DroppedCapabilities {
  /** Thread ids now holding only the kept capabilities. */
  threads: number[];
  /**
   * Threads that block every signal (Node's SIGUSR1 watcher) and so keep the
   * capabilities they started with; no_new_privs still reaches them.
   */
  unreachable: number[];
}

/**
 * Keeps only `keep` (among what the process has) in the permitted and
 * effective sets of every thread, empties the inheritable and ambient sets,
 * shrinks the bounding set when CAP_SETPCAP allows it and sets no_new_privs,
 * so no exec can gain privileges again. There is no way back.
 */
export function dropCapabilities(keep: readonly (CapabilityName | number)[]): DroppedCapabilities {
  try {
    return native().dropCapabilities(keep.map((c) => (typeof c === 'number' ? c : CAPABILITIES[c])));
  } catch (e) {
    const err = e as Error & { nativeCode?: string; errno?: number };
    throw new BpfError(err.nativeCode === 'BAD_ARGUMENT' ? 'BAD_ARGUMENT' : 'DROP_FAILED', `dropping capabilities failed: ${err.message}`, { errno: err.errno });
  }
}

/**
 * Whether this kernel refuses uprobe perf events to a thread with
 * CAP_PERFMON and CAP_BPF but without CAP_SYS_ADMIN (some do, although
 * Linux 5.8 made CAP_PERFMON enough). Asked on a thread of its own, so this
 * process keeps all it has. Meaningful only in a process that holds both.
 */
export function uprobeNeedsSysAdmin(): boolean {
  return native().uprobeNeedsSysAdmin();
}
