// The per-statement CPU profile's sampler (bpf/profile.bpf.h): a backend that
// carries sampled statements gets a software cpu-clock perf event of its own
// (probes/tables cpuClockProbe) — a ProbeKind beside the phase probes, so a
// kernel that refuses perf_event_open loses only the profile. An enabled clock
// costs its backend ~0.5 µs at every context switch (BENCHMARKS.md), so it runs
// only inside sampled request cycles: the assembler says when one opens and
// ends, and the net change of each ring-buffer batch reaches the kernel. Its
// rate is --profile-hz at most; the overhead budget lowers it while the
// probes cost more than the budget allows (setHz). A clock switched on after
// its statement began (the collector was busy) is told to the assembler, and
// the span says how late its profile starts.
import type { BpfObject } from '@pgferret/bpf-loader';
import type { ProfileStatus } from '../control/collector-control';
import type { ElfInfo } from '../discover/elf';
import { cpuClockProbe } from '../probes/tables';
import { Arming } from './arming';

export interface CpuClocksOptions {
  obj: BpfObject;
  /** samples per second of a backend's CPU time at most (> 0) */
  hz: number;
  /** the executable of a backend's cluster (by its postmaster's pid); null: the cluster is not attached */
  elfOf: (ppid: number) => ElfInfo | null;
  /** a clock stays this long after its backend's last sampled statement */
  idleMs: number;
  /** a backend's clock was switched on now (CLOCK_MONOTONIC ns, the kernel's clock) */
  switchedOn: (pid: number, atNs: number) => void;
  /** a backend got its clock */
  attached: () => void;
}

export class CpuClocks {
  private readonly arming: Arming;
  /** backends inside a sampled request cycle (their clock runs) */
  private readonly inCycle = new Set<number>();
  /** pid → on, since the last flush */
  private readonly changes = new Map<number, boolean>();
  /** the rate now: o.hz, or less while the budget is short */
  private current: number;

  constructor(private readonly o: CpuClocksOptions) {
    this.current = o.hz;
    const on = (pid: number) => this.inCycle.has(pid);
    this.arming = new Arming(o.obj, {
      laterName: 'CPU clock',
      idleMs: o.idleMs,
      armed: () => o.attached(),
      target: (pid, ppid) => {
        const elf = o.elfOf(ppid);
        return elf ? { binaryPath: `/proc/${pid}/exe`, elf, probes: [cpuClockProbe(this.current, on)], later: [] } : null;
      },
    });
  }

  /** samples per second now */
  get hz(): number {
    return this.current;
  }

  /** Sets the rate of every clock, armed and to come (at most --profile-hz). */
  setHz(hz: number): void {
    const next = Math.max(1, Math.min(this.o.hz, Math.round(hz)));
    if (next === this.current) return;
    this.current = next;
    this.arming.setClocksHz(next);
  }

  /** The backend carries a sampled statement: it gets (or keeps) its clock. */
  use(pid: number, ppid: number): void {
    this.arming.use(pid, ppid);
  }

  /** A sampled request cycle opened or ended on the backend. */
  cycle(pid: number, open: boolean): void {
    if (open) this.inCycle.add(pid);
    else this.inCycle.delete(pid);
    this.changes.set(pid, open);
  }

  /**
   * After a ring-buffer batch: switches clocks by the batch's net change (a
   * cycle that began and ended in it needs none), then arms the queued
   * backends an event-loop turn later, after the phase probes and their
   * lock/SPI probes (armed in the turns before): a backend's next statements
   * need those more than their profile.
   */
  flush(): void {
    if (this.changes.size > 0) {
      const on = this.arming.setClocks(this.changes);
      this.changes.clear();
      if (on.length > 0) {
        const now = Number(process.hrtime.bigint());
        for (const pid of on) this.o.switchedOn(pid, now);
      }
    }
    setImmediate(() => this.arming.armSoon());
  }

  /** Whether a backend has a clock (attached, on or off). */
  attached(): boolean {
    return this.arming.armedCount > 0;
  }

  sweep(alive: (pid: number) => boolean): void {
    this.arming.sweep(alive);
    for (const pid of this.inCycle) if (!alive(pid)) this.inCycle.delete(pid);
  }

  stop(): void {
    this.arming.stop();
  }

  status(): Pick<ProfileStatus, 'clocks' | 'armings' | 'failures' | 'lastError'> {
    const a = this.arming.status();
    return { clocks: a.armed, armings: a.armings, failures: a.armFailures, lastError: a.lastArmError };
  }
}
