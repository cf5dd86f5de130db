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
  /** its uprobes are uprobe_multi links (removed faster: the pace assumed before one is measured is shorter) */
  uprobeMulti?: boolean;
  /** a backend got its probes */
  armed?(pid: number): void;
}

/** A backend whose arming failed is tried again after this long. */
const RETRY_MS = 5_000;
/** removals measured and kept (the most recent ones) */
const TAILS_KEPT = 16;
/** the detachers' time per link until a removal was measured: with perf-event uprobes a backend's removal took ~2 s with others armed meanwhile, ~0.25 s a link */
const PRIOR_PER_LINK_S = 0.25;
/** the same for uprobe_multi links: 13 ms a link in a pool's removal (bench/removal), 17–32 ms in the budget test beside CPU hogs; three times that */
const PRIOR_PER_MULTI_LINK_S = 0.1;

const nowNs = () => Number(process.hrtime.bigint());

/** A backend with its probes in place. */
export interface ArmedEntry {
  pid: number;
  ppid: number;
  armedAtMs: number;
  lastUsedMs: number;
  /** it carried a sampled statement since it was armed (or was armed for one) */
  used: boolean;
  /** links of its first probes */
  firstLinks: number;
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
  /** detached backends whose first probes the loader has not removed yet: pid → since when (CLOCK_MONOTONIC ns), and how many links were in the detacher's queue up to its last first probe */
  private removing = new Map<number, { sinceNs: number; ahead: number; a: ArmedBackend }>();
  /** the last TAILS_KEPT removals: seconds from detach to the first probes gone, and that over the links the detacher had to remove up to them */
  private tails: { s: number; perLinkS: number }[] = [];
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
  private lastFirstLinks = 5;
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
   * loader removes them in the order released: every backend's first probes
   * (hit on every statement) are released before any later ones (rarely
   * hit), so they stop being hit soonest.
   */
  disarm(pids: number[]): void {
    const gone = pids.map((pid) => this.armed.get(pid)).filter((a) => a !== undefined);
    for (const a of gone) this.detach(a, () => a.detachFirst());
    for (const a of gone) {
      a.detach();
      this.disarmings++;
      if (a.used) this.waiting.set(a.pid, { ppid: a.ppid, sinceMs: Date.now(), lastUsedMs: a.lastUsedMs });
    }
  }

  /** The backend is armed no more: releases its probes (`release`: its first ones at least) and follows their removal. */
  private detach(a: ArmedBackend, release = () => a.detach()): void {
    const sinceNs = nowNs();
    // the detachers take links in the order released: its first probes come after every link waiting (queued or being removed)
    const ahead = this.obj.detacher().pending + Math.max(1, a.firstLinks);
    release();
    this.removing.set(a.pid, { sinceNs, ahead, a });
    this.spans.ended(a.pid, sinceNs);
    this.armed.delete(a.pid);
    this.complete.delete(a.pid);
  }

  /**
   * Detached backends whose first probes are still in place: how long since
   * they were detached (seconds) and how many links the detacher had to
   * remove up to their last first probe; those removed meanwhile leave the
   * list and their removal joins the measured ones (status, removalPerLinkS).
   */
  removingList(): { pid: number; forS: number; ahead: number }[] {
    const now = nowNs();
    const out: { pid: number; forS: number; ahead: number }[] = [];
    for (const [pid, r] of this.removing) {
      const at = r.a.removedAtNs();
      if (at === null) {
        out.push({ pid, forS: (now - r.sinceNs) / 1e9, ahead: r.ahead });
        continue;
      }
      this.removing.delete(pid);
      // 0: the object was closed first, no time to learn from
      if (at <= 0) continue;
      const s = Math.max(0, at - r.sinceNs) / 1e9;
      this.tails.push({ s, perLinkS: s / r.ahead });
      if (this.tails.length > TAILS_KEPT) this.tails.shift();
    }
    return out;
  }

  /**
   * The detacher's pace, seconds per link: the slowest of the recent
   * removals, each its time from detach to the first probes gone over the
   * links it waited for (what CPU contention and the yields to attaches made
   * of it); a removal under way that is already slower counts too.
   */
  removalPerLinkS(removing: { forS: number; ahead: number }[]): number {
    const prior = this.kind.uprobeMulti ? PRIOR_PER_MULTI_LINK_S : PRIOR_PER_LINK_S;
    const measured = this.tails.length ? Math.max(...this.tails.map((t) => t.perLinkS)) : prior;
    return Math.max(measured, ...removing.map((r) => r.forS / r.ahead));
  }

  /** Links the loader's detacher has not removed yet. */
  removalQueue(): number {
    return this.obj.detacher().pending;
  }

  /** Whether the backend's first probes from its last detach are still in place (it is not armed again until they are gone). */
  removingNow(pid: number): boolean {
    const r = this.removing.get(pid);
    if (!r) return false;
    if (r.a.removedAtNs() === null) return true;
    this.removingList();
    return false;
  }

  /** No backend armed, waiting for the gate or losing its probes: the budget has nothing to weigh. */
  idle(): boolean {
    return this.armed.size === 0 && this.waiting.size === 0 && this.removing.size === 0;
  }

  /** The gate held this used backend back: its sampled statements have no phases for the budget's sake. */
  heldBack(pid: number): boolean {
    return this.waiting.has(pid);
  }

  armedList(): ArmedEntry[] {
    return [...this.armed.values()].map(({ pid, ppid, armedAtMs, lastUsedMs, used, firstLinks }) => ({ pid, ppid, armedAtMs, lastUsedMs, used, firstLinks }));
  }

  /** Links of a backend's first probes, as the last one armed had them (before any: 5, the phase probe set of Debian's PostgreSQL 15). */
  firstLinksPerBackend(): number {
    return this.lastFirstLinks;
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
      this.lastFirstLinks = armed.firstLinks;
      if (target.later.length) this.later.push([armed, target.later]);
      else this.complete.add(pid);
      this.armings++;
      this.armingMs += Number(process.hrtime.bigint() - t0) / 1e6;
      this.failedAt.delete(pid);
      this.kind.armed?.(pid);
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

  /** Switches the CPU clocks of armed backends (a backend without one ignores it): pid → on. Returns the pids whose clock it switched on. */
  setClocks(changes: ReadonlyMap<number, boolean>): number[] {
    const switchedOn: number[] = [];
    for (const [pid, on] of changes) if (this.armed.get(pid)?.setClock(on) && on) switchedOn.push(pid);
    return switchedOn;
  }

  /** backends armed now */
  get armedCount(): number {
    return this.armed.size;
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
      this.detach(a);
    }
    for (const pid of this.failedAt.keys()) if (!alive(pid)) this.failedAt.delete(pid);
    this.removingList(); // the removals done leave the list
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
      removing: this.removing.size,
      removalS: this.tails.map((t) => t.s),
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
    this.removing.clear();
  }
}
