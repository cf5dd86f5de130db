// Per-backend probes and their lifecycle. Probes are attached per backend
// (pid-filtered: the breakpoints are written into that process only), to the
// backends that need them: a backend that is used is queued, armed soon after
// (off the ring buffer's callback), kept while it is used and disarmed when
// it is gone or idle. A gate (the overhead budget) may hold a used backend
// back: it then waits, and whoever holds the gate arms and disarms backends
// (arm/disarm) as the budget allows. One Arming serves one kind of per-backend probe set —
// the phase probes (with the lock and SPI probes after them); another kind,
// a backend's CPU clock (arming/profile.ts), is another Arming with its own kind.
import * as fs from 'node:fs';
import type { BpfObject } from '@pgferret/bpf-loader';
import type { ArmingStatus } from '../control/collector-control';
import type { ElfInfo } from '../discover/elf';
import { armBackend, type ArmedBackend } from '../probes/attach';
import type { Probe } from '../probes/tables';
import { ArmedSpans } from './armed-spans';

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

const nowNs = () => Number(process.hrtime.bigint());

/** A backend with its probes in place. */
export interface ArmedEntry {
  pid: number;
  ppid: number;
  armedAtMs: number;
  lastUsedMs: number;
  /** it carried a sampled statement since it was armed (or was armed for one) */
  used: boolean;
}

/** Whether a used backend may be armed now (false: it waits, see waitingList). */
export type ArmingGate = (pid: number, ppid: number) => boolean;

export class Arming {
  private armed = new Map<number, ArmedBackend & ArmedEntry>();
  /** when each backend had its probes, for statements assembled after it lost them */
  private spans = new ArmedSpans();
  /** armed backends whose later probes are in place too (or that have none) */
  private complete = new Set<number>();
  /** used backends the gate held back: pid → its postmaster, and since when it waits */
  private waiting = new Map<number, { ppid: number; sinceMs: number; lastUsedMs: number }>();
  private disarmings = 0;
  /** backends to arm: pid → its postmaster's pid, and whether a sampled statement asked for it */
  private queue = new Map<number, { ppid: number; used: boolean }>();
  /** armed backends whose later probes are still to be added, in arming order */
  private later: [ArmedBackend, Probe[]][] = [];
  /** a step is scheduled */
  private stepping = false;
  private failedAt = new Map<number, number>();
  private failures = 0;
  private armings = 0;
  private armingMs = 0;
  private lastError: string | null = null;
  private stopped = false;

  constructor(private readonly obj: BpfObject, private readonly kind: ProbeKind, private readonly gate: ArmingGate = () => true) {}

  /** The backend needs its probes now: armed ones stay armed longer, others are queued (or wait, if the gate says so). */
  use(pid: number, ppid: number): void {
    const now = Date.now();
    const a = this.armed.get(pid);
    if (a) {
      a.lastUsedMs = now;
      a.used = true;
      return;
    }
    if (this.queue.has(pid)) return;
    const w = this.waiting.get(pid);
    if (w) w.lastUsedMs = now;
    if (this.gate(pid, ppid)) {
      this.waiting.delete(pid);
      this.queue.set(pid, { ppid, used: true });
    } else if (!w) {
      this.waiting.set(pid, { ppid, sinceMs: now, lastUsedMs: now });
    }
  }

  /** Arms a backend whether or not it was used (ahead of need, or a waiting one the budget now allows). */
  arm(pid: number, ppid: number): void {
    if (this.armed.has(pid) || this.queue.has(pid)) return;
    this.queue.set(pid, { ppid, used: this.waiting.has(pid) });
    this.armSoon();
  }

  /**
   * Takes backends' probes away now; used ones wait to be armed again. The
   * loader removes the last released first: every backend's rarely hit
   * probes are released before any first probes, so the probes hit on every
   * statement stop being hit soonest.
   */
  disarm(pids: number[]): void {
    const gone = pids.map((pid) => this.armed.get(pid)).filter((a) => a !== undefined);
    for (const a of gone) a.detachLater();
    for (const a of gone) {
      a.detach();
      this.spans.ended(a.pid, nowNs());
      this.armed.delete(a.pid);
      this.complete.delete(a.pid);
      this.disarmings++;
      if (a.used) this.waiting.set(a.pid, { ppid: a.ppid, sinceMs: Date.now(), lastUsedMs: a.lastUsedMs });
    }
  }

  /** The gate held this used backend back: its sampled statements have no phases for the budget's sake. */
  heldBack(pid: number): boolean {
    return this.waiting.has(pid);
  }

  armedList(): ArmedEntry[] {
    return [...this.armed.values()].map(({ pid, ppid, armedAtMs, lastUsedMs, used }) => ({ pid, ppid, armedAtMs, lastUsedMs, used }));
  }

  /** Used backends waiting for the gate, longest waiting first. */
  waitingList(): { pid: number; ppid: number; sinceMs: number }[] {
    return [...this.waiting].map(([pid, w]) => ({ pid, ppid: w.ppid, sinceMs: w.sinceMs })).sort((x, y) => x.sinceMs - y.sinceMs);
  }

  /** Arms the queued backends once the current callback is done, one per event-loop turn. */
  armSoon(): void {
    if (this.stepping || (this.queue.size === 0 && this.later.length === 0)) return;
    this.stepping = true;
    setImmediate(() => {
      this.stepping = false;
      this.step();
    });
  }

  /** Whether the backend had its probes all through [startNs, endNs] (CLOCK_MONOTONIC ns), then or now. */
  timedThrough(pid: number, startNs: number, endNs: number): boolean {
    return this.spans.covers(pid, startNs, endNs);
  }

  /**
   * Arms one queued backend, or, once none is queued, adds the later probes
   * of one armed backend; then yields. Attaching takes a few ms per backend,
   * or seconds on a loaded host: the ring buffer, the exports and the admin
   * API are served between backends, not after a whole pool.
   */
  private step(): void {
    if (this.stopped) return;
    const next = this.queue.entries().next();
    if (!next.done) {
      const [pid, { ppid, used }] = next.value;
      this.queue.delete(pid);
      this.armOne(pid, ppid, used);
    } else {
      const later = this.later.shift();
      if (later) this.armLater(...later);
    }
    this.armSoon();
  }

  private armOne(pid: number, ppid: number, used: boolean): void {
    const now = Date.now();
    if (this.armed.has(pid)) return;
    // a backend that could not be armed is tried again after a pause, not at every use
    if (now - (this.failedAt.get(pid) ?? -Infinity) < RETRY_MS) return;
    // its statements were assembled after it exited (the collector behind on the ring buffer): nothing to arm
    if (!fs.existsSync(`/proc/${pid}`)) return;
    const target = this.kind.target(pid, ppid);
    if (!target) return;
    try {
      const t0 = process.hrtime.bigint();
      const armed = armBackend(this.obj, pid, target.binaryPath, target.probes, target.elf);
      const w = this.waiting.get(pid);
      this.waiting.delete(pid);
      this.armed.set(pid, Object.assign(armed, { ppid, armedAtMs: now, lastUsedMs: w?.lastUsedMs ?? now, used }));
      this.spans.armed(pid, armed.sinceNs);
      if (target.later.length) this.later.push([armed, target.later]);
      else this.complete.add(pid);
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

  private armLater(armed: ArmedBackend, probes: Probe[]): void {
    if (this.armed.get(armed.pid) !== armed) return; // disarmed meanwhile
    try {
      armed.add(probes);
      this.complete.add(armed.pid);
    } catch (e) {
      // its first probes stay; what the later ones observe is missed for this backend
      this.failures++;
      this.lastError = `pid ${armed.pid} (${this.kind.laterName}): ${(e as Error).message}`;
    }
  }

  /** Switches the CPU clocks of armed backends (a backend without one ignores it): pid → on. */
  setClocks(changes: ReadonlyMap<number, boolean>): void {
    for (const [pid, on] of changes) this.armed.get(pid)?.setClock(on);
  }

  /** Sets the rate of every armed backend's CPU clock. */
  setClocksHz(hz: number): void {
    for (const a of this.armed.values()) a.setClockHz(hz);
  }

  /** Disarms backends that are gone or idle. */
  sweep(alive: (pid: number) => boolean): void {
    const now = Date.now();
    for (const [pid, a] of this.armed) {
      if (alive(pid) && now - a.lastUsedMs < this.kind.idleMs) continue;
      a.detach();
      this.spans.ended(pid, nowNs());
      this.armed.delete(pid);
      this.complete.delete(pid);
    }
    for (const pid of this.failedAt.keys()) if (!alive(pid)) this.failedAt.delete(pid);
    this.spans.prune(now);
    for (const [pid, w] of this.waiting) if (!alive(pid) || now - w.lastUsedMs >= this.kind.idleMs) this.waiting.delete(pid);
  }

  status(): Omit<ArmingStatus, 'tls'> {
    return {
      armed: this.armed.size,
      armedPids: [...this.armed.keys()],
      completePids: [...this.complete],
      waiting: this.waiting.size,
      disarmings: this.disarmings,
      armings: this.armings,
      meanArmingMs: this.armings ? this.armingMs / this.armings : 0,
      armFailures: this.failures,
      lastArmError: this.lastError,
    };
  }

  /** Detaches every backend's probes. */
  stop(): void {
    this.stopped = true;
    this.queue.clear();
    this.later = [];
    for (const a of this.armed.values()) a.detach();
    this.armed.clear();
    this.complete.clear();
  }
}
