// Per-backend probes and their lifecycle. Probes are attached per backend
// (pid-filtered: the breakpoints are written into that process only), to the
// backends that need them: a backend that is used is queued, armed soon after
// (off the ring buffer's callback), kept while it is used and disarmed when
// it is gone or idle. The kind of probe set (ProbeKind) says where a
// backend's probes go: the phase probes first, then the lock and SPI probes;
// another kind (a backend's CPU clock) is another Arming.
import type { BpfObject } from '@pgferret/bpf-loader';
import type { ArmingStatus } from '../control/collector-control';
import type { ElfInfo } from '../discover/elf';
import { armBackend, type ArmedBackend } from '../probes/attach';
import type { Probe } from '../probes/tables';

/** Where a backend's probes of one kind go. */
export interface ProbeTarget {
  /** the executable or library, through the backend's own /proc entry */
  binaryPath: string;
  elf: ElfInfo;
  /** attached first, to every backend waiting */
  probes: Probe[];
  /** attached after every waiting backend has its first probes: rarely hit, so fewer statements run unprobed */
  later: Probe[];
}

export interface ProbeKind {
  /** what `later` probes are, for errors: "lock/SPI probes" */
  laterName: string;
  /** where a backend of postmaster `ppid` gets its probes; null: nowhere (cluster unknown, binary unreadable) */
  target(pid: number, ppid: number): ProbeTarget | null;
  /** a backend stays armed this long after its last use (its exit disarms it at once) */
  idleMs: number;
}

/** A backend whose arming failed is tried again after this long. */
const RETRY_MS = 5_000;

export class Arming {
  private armed = new Map<number, ArmedBackend & { lastUsedMs: number; complete: boolean }>();
  /** backends to arm: pid → its postmaster's pid */
  private queue = new Map<number, number>();
  private failedAt = new Map<number, number>();
  private failures = 0;
  private armings = 0;
  private armingMs = 0;
  private lastError: string | null = null;
  private stopped = false;

  constructor(private readonly obj: BpfObject, private readonly kind: ProbeKind) {}

  /** The backend needs its probes now: armed ones stay armed longer, others are queued. */
  use(pid: number, ppid: number): void {
    const a = this.armed.get(pid);
    if (a) a.lastUsedMs = Date.now();
    else this.queue.set(pid, ppid);
  }

  /** Arms the queued backends once the current callback is done. */
  armSoon(): void {
    if (this.queue.size > 0) setImmediate(() => this.armPending());
  }

  /** CLOCK_MONOTONIC ns since which the backend's probes are all in place; null when it has none. */
  armedSince(pid: number): number | null {
    return this.armed.get(pid)?.sinceNs ?? null;
  }

  private armPending(): void {
    const pending = [...this.queue];
    this.queue.clear();
    const now = Date.now();
    const later: [ArmedBackend & { complete: boolean }, Probe[]][] = [];
    for (const [pid, ppid] of pending) {
      if (this.armed.has(pid) || this.stopped) continue;
      // a backend that could not be armed is tried again after a pause, not at every use
      if (now - (this.failedAt.get(pid) ?? -Infinity) < RETRY_MS) continue;
      const target = this.kind.target(pid, ppid);
      if (!target) continue;
      try {
        const t0 = process.hrtime.bigint();
        const armed = Object.assign(armBackend(this.obj, pid, target.binaryPath, target.probes, target.elf), { lastUsedMs: now, complete: target.later.length === 0 });
        this.armed.set(pid, armed);
        if (target.later.length) later.push([armed, target.later]);
        this.armings++;
        this.armingMs += Number(process.hrtime.bigint() - t0) / 1e6;
        this.failedAt.delete(pid);
      } catch (e) {
        // the backend may have exited meanwhile: counted and shown in status, not logged each time
        this.failures++;
        this.failedAt.set(pid, now);
        this.lastError = `pid ${pid}: ${(e as Error).message}`;
      }
    }
    if (later.length > 0) setImmediate(() => this.armLater(later));
  }

  private armLater(later: [ArmedBackend & { complete: boolean }, Probe[]][]): void {
    for (const [armed, probes] of later) {
      if (this.armed.get(armed.pid) !== armed) continue; // disarmed meanwhile
      try {
        armed.add(probes);
        armed.complete = true;
      } catch (e) {
        // its first probes stay; what the later ones observe is missed for this backend
        this.failures++;
        this.lastError = `pid ${armed.pid} (${this.kind.laterName}): ${(e as Error).message}`;
      }
    }
  }

  /** Switches the CPU clocks of armed backends (a backend without one ignores it): pid → on. */
  setClocks(changes: ReadonlyMap<number, boolean>): void {
    for (const [pid, on] of changes) this.armed.get(pid)?.setClock(on);
  }

  /** Disarms backends that are gone or idle. */
  sweep(alive: (pid: number) => boolean): void {
    const now = Date.now();
    for (const [pid, a] of this.armed) {
      if (alive(pid) && now - a.lastUsedMs < this.kind.idleMs) continue;
      a.detach();
      this.armed.delete(pid);
    }
    for (const pid of this.failedAt.keys()) if (!alive(pid)) this.failedAt.delete(pid);
  }

  status(): Omit<ArmingStatus, 'tls'> {
    return {
      armed: this.armed.size,
      armedLater: [...this.armed.values()].filter((a) => a.complete).length,
      armings: this.armings,
      meanArmingMs: this.armings ? this.armingMs / this.armings : 0,
      armFailures: this.failures,
      lastArmError: this.lastError,
    };
  }

  /** Detaches every backend's probes. */
  stop(): void {
    this.stopped = true;
    for (const a of this.armed.values()) a.detach();
    this.armed.clear();
  }
}
