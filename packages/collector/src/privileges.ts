// The capabilities the collector needs to start, and least privilege once
// the probes are attached. The collector keeps what rescans and attaching to clusters that start later need, nothing else:
//   CAP_BPF, CAP_PERFMON   attach uprobes/USDT (perf_event_open) to new postmasters
//   CAP_SYS_PTRACE         /proc/<pid>/exe, /cwd, /root of postmasters of another user
//   CAP_DAC_READ_SEARCH    postmaster.pid and PG_VERSION in their 0700 data directories
//   CAP_SYS_ADMIN          only where the kernel wants it for uprobe perf events
//                          (checked at start: some do despite CAP_PERFMON)
// Gone: CAP_SYS_MODULE, CAP_DAC_OVERRIDE, CAP_SYS_RESOURCE (the maps exist
// already), CAP_SETUID, CAP_KILL… and no exec can ever gain privileges again.
import * as fs from 'node:fs';
import {
  CAPABILITIES,
  type CapabilityName,
  dropCapabilities,
  effectiveCapabilities,
  missingBpfCapabilities,
  uprobeNeedsSysAdmin,
} from '@pgferret/bpf-loader';

export const KEPT_CAPABILITIES: readonly CapabilityName[] = ['CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_PTRACE', 'CAP_DAC_READ_SEARCH'];

/** Kernels before 5.8 know no CAP_BPF/CAP_PERFMON: there CAP_SYS_ADMIN stands for both. */
function keptHere(): CapabilityName[] {
  const last = Number(fs.readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
  const kept = [...KEPT_CAPABILITIES];
  if (last < CAPABILITIES.CAP_BPF || uprobeNeedsSysAdmin()) kept.push('CAP_SYS_ADMIN');
  return kept;
}

function names(caps: bigint): string[] {
  return (Object.keys(CAPABILITIES) as CapabilityName[]).filter((n) => (caps & (1n << BigInt(CAPABILITIES[n]))) !== 0n);
}

export function dropPrivileges(log: (m: string) => void): void {
  const r = dropCapabilities(keptHere());
  log(
    `least privilege: capabilities now ${names(effectiveCapabilities()).join(', ') || 'none'} on ${r.threads.length} threads, ` +
      'no_new_privs set' +
      (r.unreachable.length > 0
        ? `; ${r.unreachable.length} thread(s) blocking all signals (Node's SIGUSR1 watcher) keep the capabilities the process ` +
          'started with: start it with a reduced bounding set (systemd CapabilityBoundingSet=, or the launcher of the README) to cover those too'
        : ''),
  );
}

const LAUNCHER_HINT =
  'as a dedicated user through a launcher that carries the capabilities: a private copy of node only that user may ' +
  'execute, with file capabilities on the copy (see "Running without root" in the README of pgferret-collector). ' +
  'Never setcap the system node: every Node program on the host would get these rights.';

/** At start: the capabilities loading and attaching need, with how to grant them. */
export function checkPrivileges(): void {
  const missing = missingBpfCapabilities();
  if (missing.length > 0) {
    throw new Error(
      `pgferret-collector needs ${missing.join(' and ')} to load eBPF probes into PostgreSQL, and this process lacks them. ` +
        `Run it as root (sudo npx pgferret-collector), or ${LAUNCHER_HINT}`,
    );
  }
  if ((effectiveCapabilities() & (1n << BigInt(CAPABILITIES.CAP_SYS_ADMIN))) === 0n && uprobeNeedsSysAdmin()) {
    throw new Error(
      'this kernel refuses uprobes to a process with CAP_BPF and CAP_PERFMON but without CAP_SYS_ADMIN, so ' +
        'pgferret-collector could not attach to PostgreSQL. Add cap_sys_admin to the file capabilities of its launcher, or run it as root.',
    );
  }
}
