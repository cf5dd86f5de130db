// The overhead budget (--max-overhead): per-backend probes may cost at most
// this share of the traced backends' CPU time. Every tick it measures
//   - what the backends spent: their CPU from /proc (discover/process-cpu),
//   - what the probes cost them: hits (the kernel's phase_hits counter, or the
//     per-program run counts of bpf_stats when kernel.bpf_stats_enabled = 1)
//     times the trap's cost per hit, plus the programs' bodies (bpf_stats'
//     run time when on, else an estimate per hit),
// and keeps a credit: the budget's share of the CPU spent is earned, the
// probes' cost is paid. A used backend (it carries sampled statements) is
// armed when the credit covers its predicted cost for a window and its
// removal, over a reserve: what the armed ones would still cost once
// disarmed, and what the disarmed ones still cost until their uprobes are
// gone. Removal is not instant: the loader's detachers remove uprobe links
// in the order released, each waiting for the kernel's grace periods
// (perf-event uprobes, before Linux 6.6: one at a time, ~90 ms a site on a
// quiet machine and 0.2–0.8 s measured under CPU contention; uprobe_multi
// links, one per program and backend: four threads, ~13 ms a link in a
// pool's removal), and they yield 200 ms to each attach. So the budget
// measures it: each disarmed backend's time until its phase probes are gone,
// over the links released before them and not yet removed (queued or in a
// detacher's hands), gives the pace per link of the queue, whatever the
// threads and however many sites a link holds; the links waiting and the
// busy armed backends' own at that pace give how long they would keep their
// probes if disarmed now. A long queue makes every
// window dear: arming stops until the detacher has caught up. When the credit
// falls to the reserve the busy armed backends are disarmed and wait, longest
// waiting first, for the next window; a backend is not armed again before its
// previous probes are gone. Idle armed backends cost nothing and stay. New
// backends of a cluster with sampled traffic are armed at their fork while
// the credit allows, so their first statements have phases.
// The CPU profile's clock ticks are paid from the same account; while the
// probes (its ticks included) cost more than the budget over the last
// window, its rate is halved at each tick (down to 1/16 of --profile-hz),
// and doubled again while they cost under half of it.
// Statement spans come from the socket and never depend on this.
import { ClusterCpuReader } from '../discover/process-cpu';
import { ProcFile } from '../discover/proc-file';
import type { BudgetStatus } from '../control/collector-control';
import type { Arming } from './arming';

/**
 * What one probe hit costs the backend beyond the program body: the trap.
 * Measured on this project's machines (bench/traps, BENCHMARKS.md): ~0.4 µs
 * (5-byte nop) to ~0.55 µs (USDT nop, push entry, a uretprobe's return) in a
 * tight loop, ~1.5 µs per hit under a pgbench load; ~5 µs on an instruction
 * the kernel single-steps (endbr64 included).
 * The phase probes sit on USDT nops and `push`-first function entries: the
 * under-load figure is used, erring on the side of the budget.
 */
export const TRAP_NS_PER_HIT = 1_500;
/** the program body per hit when bpf_stats is off (BENCHMARKS.md: 0.2–0.34 µs; 2 µs when the ring is contended) */
export const BODY_NS_PER_HIT = 350;
/** before anything was measured: probe cost as a share of an armed backend's CPU (3 hits of ~2 µs on a 25–35 µs statement) */
const PRIOR_COST_SHARE = 0.2;
/** a backend is armed only if the credit pays for this long of it, plus its removal after it is disarmed */
const WINDOW_S = 0.5;
/** the loader's detacher waits this long after each attach (bpf-loader YIELD_TO_ATTACH_NS): an arming delays the removals under way */
const DETACHER_YIELD_S = 0.2;
/**
 * What one CPU-profile tick costs the sampled backend: the timer interrupt
 * (taken as a trap's cost) and the program's frame-pointer walk of 12–20
 * frames plus its ring record (~1 µs; not measured apart from the interrupt).
 */
export const PROFILE_TICK_NS = TRAP_NS_PER_HIT + 1_000;
/** the profile's rate goes down to --profile-hz / this at most */
const PROFILE_DIV_MAX = 16;
/** the budget's tick, seconds (the collector calls tick() this often) */
const TICK_S = 0.2;
/** credit is kept for at most this long of budget: a quiet spell does not buy a long burst */
const CREDIT_CAP_S = 30;
/** the CPU rate assumed for a backend not measured yet */
const UNMEASURED_RATE_NS_PER_S = 0.25e9;
/** backends armed per tick at most (on use or again after waiting): a burst is paid for until its uprobes are removed, link by link */
const ARMS_PER_TICK = 2;
/** new backends armed at their fork, at most this many per second (each arming and disarming costs the collector and the kernel) */
const FORK_ARMS_PER_S = 5;
/** a cluster carries sampled traffic while its last sampled statement is this recent */
const SAMPLED_RECENT_MS = 60_000;
/**
 * A backend not measured yet (at its fork) is priced at least at the busy
 * backends' mean rate over this long, not only the last tick's: a pool that
 * reconnects after a pause (or a batch job's next connection) works as hard
 * as the last one did, not as the idle ones left over (pricing it at those
 * let arming at fork spend 2–6 % of the backends' CPU over 5 s in
 * bench/overhead, against a 1 % budget). A measured backend is priced at its
 * own rate: one that ran a heavy statement a minute ago and is idle now is
 * not held back by it.
 */
const RATE_MEMORY_MS = 30_000;
/** no sampled statement for this long and no backend armed, waiting or being disarmed: the budget is quiet (see quiet()) */
export const QUIET_AFTER_MS = 5_000;
const STATS_SYSCTL = '/proc/sys/kernel/bpf_stats_enabled';
const STATS_READ_MS = 1_000;

export interface BudgetOptions {
  /** percent of the traced backends' CPU time the probes may cost */
  maxOverheadPct: number;
  /** share of new backends of a cluster with sampled traffic armed at their fork (0: none) */
  armAtFork: number;
  arming: Arming;
  /** postmaster pids of the attached clusters */
  postmasters(): number[];
  /** per-backend probe hits so far (the kernel's phase_hits counter) */
  hits(): number;
  /** run time and runs so far of the per-backend probe programs (bpf_stats; zeros while it is off) */
  programStats(): { runTimeNs: number; runCount: number };
  /** the CPU profile's clocks, when on: their ticks so far (the kernel's samples + samples_idle), and their rate to set */
  profile?: { ticks(): number; maxHz: number; setHz(hz: number): void };
}


interface Sample {
  atMs: number;
  cpuNs: number;
  costNs: number;
}

export class ProbeBudget {
  private readonly share: number;
  private credit = 0;
  private costShare = PRIOR_COST_SHARE;
  private last: { cpu: Map<number, number>; hits: number; runNs: number; runs: number; ticks: number } | null = null;
  /** the profile's rate is --profile-hz / this */
  private profileDiv = 1;
  private profileCostNs = 0;
  /** per live backend: CPU ns per second over the last tick */
  private cpuRate = new Map<number, number>();
  private window: Sample[] = [];
  private totals = { cpuNs: 0, costNs: 0, hits: 0 };
  private nsPerHit = TRAP_NS_PER_HIT + BODY_NS_PER_HIT;
  private bodyMeasured = false;
  private counts = { budgetDisarms: 0, budgetArms: 0, forkArms: 0, forks: 0, forksHeldBack: 0 };
  private forkAcc = 0;
  private armsThisTick = 0;
  /** predicted cost of the backends armed since the last tick (not measured yet) */
  private committed = 0;
  /** what the busy armed backends would still cost once disarmed, and the disarmed ones until their probes are gone, as of the last tick */
  private reserve = 0;
  /**
   * The removal of probes, as of the last tick: the detacher's pace (seconds
   * per link, measured), the links waiting for it, and how long the busy
   * armed backends would keep their probes if all were disarmed now
   * (seconds: the queue and their first probes' links, at that pace).
   */
  private removal = { perLinkS: 0, queue: 0, s: 0 };
  /** what the busy armed backends cost per second (ns/s), and the ones whose probes are being removed, as of the last tick */
  private armedNsPerS = 0;
  private removingNsPerS = 0;
  /** seconds between the last two ticks (late when the collector is starved of CPU) */
  private tickS = TICK_S;
  private forkTimes: number[] = [];
  /** postmaster pid → when its last sampled statement was seen */
  private sampledAt = new Map<number, number>();
  /** per tick: the mean CPU rate of the busy backends (ns/s), over the last RATE_MEMORY_MS */
  private busyMeans: { atMs: number; ns: number }[] = [];
  /** the mean of busyMeans, taken at each tick: predictedNs runs for every sampled statement of a waiting backend */
  private recentBusyNs = 0;
  private lastTickMs = Date.now();
  private readonly clusterCpu = new ClusterCpuReader();
  private statsOn = { on: false, atMs: -Infinity };
  private readonly statsSysctl = new ProcFile(STATS_SYSCTL);

  constructor(private readonly o: BudgetOptions) {
    this.share = Math.max(0, o.maxOverheadPct) / 100;
  }

  /** The arming gate: a used backend is armed at once only if the credit pays for its window. */
  allow(pid: number, _ppid: number): boolean {
    if (this.share >= 1) return true;
    if (this.o.arming.removingNow(pid)) return false;
    const cost = this.predictedNs(pid);
    if (this.free() < cost || this.armsThisTick >= ARMS_PER_TICK) return false;
    this.committed += cost;
    this.armsThisTick++;
    return true;
  }

  /** A sampled statement of a cluster: its new backends are worth arming at fork. */
  sampled(ppid: number): void {
    this.sampledAt.set(ppid, Date.now());
  }

  /**
   * Whether a used backend may be armed at its next sampled statement: no
   * limit, or credit for a busy backend's window. It decides whether sampled
   * statements of unarmed backends wake the collector; a wake-up the budget
   * then declines costs the collector ~100 µs for nothing (at 10 % of `-S`
   * sampled that was 2,000 wake-ups a second).
   */
  armsOnUse(): boolean {
    return this.share >= 1 || (this.armsThisTick < ARMS_PER_TICK && this.free() >= this.predictedNs(null));
  }

  /**
   * Nothing to decide: no sampled statement for a while and no backend armed,
   * waiting or being disarmed. The collector then ticks less often (an idle
   * collector's /proc reads were most of its CPU); the credit is earned the
   * same over a longer tick, and a sampled statement or a fork brings the
   * 200 ms tick back at once.
   */
  quiet(): boolean {
    const now = Date.now();
    for (const at of this.sampledAt.values()) if (now - at < QUIET_AFTER_MS) return false;
    return this.o.arming.idle();
  }

  /** A followed postmaster forked a backend: armed now if its cluster carries sampled traffic and the budget has room. */
  forked(pid: number, ppid: number): void {
    const at = this.sampledAt.get(ppid);
    const now = Date.now();
    if (this.o.armAtFork <= 0 || at === undefined || now - at > SAMPLED_RECENT_MS) return;
    this.counts.forks++;
    this.forkAcc += Math.min(1, this.o.armAtFork);
    if (this.forkAcc < 1) return;
    this.forkTimes = this.forkTimes.filter((t) => now - t < 1000);
    const cost = this.predictedNs(null);
    if (this.forkTimes.length >= FORK_ARMS_PER_S || (this.share < 1 && (this.free() < cost || this.armsThisTick >= ARMS_PER_TICK))) {
      this.counts.forksHeldBack++;
      return;
    }
    this.forkAcc -= 1;
    this.forkTimes.push(now);
    if (this.share < 1) {
      this.committed += cost;
      this.armsThisTick++;
    }
    this.counts.forkArms++;
    this.o.arming.arm(pid, ppid);
  }

  /**
   * What arming `pid` for a window is expected to cost: its CPU rate of the
   * last tick, at least the busy traced backends' mean then (an idle backend
   * that gets a statement is about to work); a backend not measured yet (at
   * its fork, or born since the last tick) at least their mean over the last
   * 30 s too, and a quarter core. Times the measured cost share, for a
   * window and its removal (after the detacher's queue and the busy armed
   * backends' first probes); plus the delay its own first probes would add
   * to theirs, and its attach to the removals under way (the detacher yields
   * to attaches). Before a tick has measured anything: infinite (nothing is
   * armed blind).
   */
  private predictedNs(pid: number | null): number {
    if (this.cpuRate.size === 0) return Infinity;
    // the busy ones' mean (idle background processes would dilute it): this tick's, and over the ticks of the last 30 s that had any
    const lastTick = this.busyMeans.at(-1)?.atMs === this.lastTickMs ? this.busyMeans.at(-1)!.ns : 0;
    const measured = pid !== null ? this.cpuRate.get(pid) : undefined;
    const rate = measured !== undefined ? Math.max(measured, lastTick) : Math.max(pid === null ? 0 : UNMEASURED_RATE_NS_PER_S, lastTick, this.recentBusyNs);
    const r = this.removal;
    const ownS = this.o.arming.firstLinksPerBackend() * r.perLinkS;
    return this.costShare * rate * (WINDOW_S + r.s + ownS) + this.armedNsPerS * ownS + this.removingNsPerS * DETACHER_YIELD_S;
  }

  /** Measures and decides; called every ~200 ms. */
  tick(): void {
    const now = Date.now();
    this.armsThisTick = 0;
    const dtS = Math.max(0.001, (now - this.lastTickMs) / 1000);
    this.lastTickMs = now;
    this.tickS = Math.max(TICK_S, dtS);
    const cpu = new Map<number, number>();
    const backendRates = new Map<number, Map<number, number>>();
    const postmasters = this.o.postmasters();
    this.clusterCpu.keep(postmasters);
    // the backends this tick decides about are read every tick; idle others once a second
    const armed = this.o.arming.armedList();
    const armedNow = new Set(armed.map((a) => a.pid));
    const waitingNow = new Set(this.o.arming.waitingList().map((w) => w.pid));
    const hot = (pid: number) => armedNow.has(pid) || waitingNow.has(pid) || this.o.arming.removingNow(pid);
    for (const pm of postmasters) {
      const c = this.clusterCpu.read(pm, hot);
      if (!c) continue;
      cpu.set(pm, c.totalNs);
      backendRates.set(pm, c.rates);
    }
    const hits = this.o.hits();
    const prog = this.bpfStatsOn() ? this.o.programStats() : { runTimeNs: 0, runCount: 0 };
    const ticks = this.o.profile?.ticks() ?? 0;
    const prev = this.last;
    this.last = { cpu, hits, runNs: prog.runTimeNs, runs: prog.runCount, ticks };
    if (!prev) return;

    // what the backends spent, and each one's share of it (a cluster that appeared in between starts next tick)
    let cpuNs = 0;
    this.cpuRate.clear();
    for (const [pm, total] of cpu) {
      const before = prev.cpu.get(pm);
      if (before === undefined) continue;
      cpuNs += Math.max(0, total - before);
      for (const [pid, rate] of backendRates.get(pm)!) this.cpuRate.set(pid, rate);
    }
    const rates = [...this.cpuRate.values()].filter((r) => r > 0);
    if (rates.length) this.busyMeans.push({ atMs: now, ns: rates.reduce((a, b) => a + b, 0) / rates.length });
    while (this.busyMeans.length > 0 && now - this.busyMeans[0].atMs > RATE_MEMORY_MS) this.busyMeans.shift();
    this.recentBusyNs = this.busyMeans.length ? this.busyMeans.reduce((sum, x) => sum + x.ns, 0) / this.busyMeans.length : 0;
    // what the probes cost them
    const dHits = Math.max(0, hits - prev.hits);
    const dRuns = prog.runCount - prev.runs;
    const dRunNs = prog.runTimeNs - prev.runNs;
    let costNs: number;
    if (dRuns > 0 && dRunNs > 0) {
      const n = Math.max(dHits, dRuns);
      costNs = n * TRAP_NS_PER_HIT + dRunNs;
      this.nsPerHit = TRAP_NS_PER_HIT + dRunNs / dRuns;
      this.bodyMeasured = true;
    } else {
      costNs = dHits * (TRAP_NS_PER_HIT + BODY_NS_PER_HIT);
    }
    const profileNs = Math.max(0, ticks - prev.ticks) * PROFILE_TICK_NS;
    this.profileCostNs += profileNs;
    costNs += profileNs;
    this.totals.cpuNs += cpuNs;
    this.totals.costNs += costNs;
    this.totals.hits += dHits;
    this.window.push({ atMs: now, cpuNs, costNs });
    while (this.window.length > 0 && now - this.window[0].atMs > 10_000) this.window.shift();

    // the cost share of an armed backend's CPU, from the busy armed backends of this tick
    const armedCpu = armed.reduce((s, a) => s + (this.cpuRate.get(a.pid) ?? 0), 0) * dtS;
    if (armedCpu > 5_000_000 && costNs > 0) this.costShare = 0.7 * this.costShare + 0.3 * Math.min(1, costNs / armedCpu);

    if (this.share >= 1) return;
    const cap = Math.max(1_000_000, this.share * (cpuNs / dtS) * CREDIT_CAP_S);
    this.credit = Math.min(cap, this.credit + this.share * cpuNs - costNs);
    this.committed = 0;
    const busy = armed.filter((x) => (this.cpuRate.get(x.pid) ?? 0) > 0);
    const removing = this.o.arming.removingList();
    const perLinkS = this.o.arming.removalPerLinkS(removing);
    const queue = this.o.arming.removalQueue();
    const busyLinks = busy.reduce((sum, a) => sum + a.firstLinks, 0);
    this.removal = { perLinkS, queue, s: (queue + busyLinks) * perLinkS };
    const costRate = (pid: number) => this.costShare * (this.cpuRate.get(pid) ?? 0);
    this.armedNsPerS = busy.reduce((sum, a) => sum + costRate(a.pid), 0);
    this.removingNsPerS = removing.reduce((sum, r) => sum + costRate(r.pid), 0);
    // the busy armed ones until the next tick comes (late when starved), then their removal; the ones being removed until theirs is done
    this.reserve = this.armedNsPerS * (this.tickS + this.removal.s) +
      removing.reduce((sum, r) => sum + costRate(r.pid) * Math.max(this.tickS, r.ahead * perLinkS - r.forS), 0);
    this.steerProfile();

    if (this.credit < this.reserve) {
      // down to what the busy armed backends still cost once disarmed: they wait (idle ones cost nothing)
      this.o.arming.disarm(busy.map((a) => a.pid));
      this.counts.budgetDisarms += busy.length;
      return;
    }
    // credit left: the backends waiting longest get their window
    for (const w of this.o.arming.waitingList()) {
      if (this.o.arming.removingNow(w.pid)) continue;
      const cost = this.predictedNs(w.pid);
      if (cost > this.free() || this.armsThisTick >= ARMS_PER_TICK) break;
      this.armsThisTick++;
      this.committed += cost;
      this.o.arming.arm(w.pid, w.ppid);
      this.counts.budgetArms++;
    }
  }

  /** The profile's rate: halved while the probes cost over the budget in the last window, doubled back while under half of it. */
  private steerProfile(): void {
    const p = this.o.profile;
    if (!p) return;
    const w = this.window.reduce((s, x) => ({ cpu: s.cpu + x.cpuNs, cost: s.cost + x.costNs }), { cpu: 0, cost: 0 });
    if (w.cpu <= 0) return;
    const share = w.cost / w.cpu;
    if (share > this.share) this.profileDiv = Math.min(PROFILE_DIV_MAX, this.profileDiv * 2);
    else if (this.profileDiv > 1 && share < 0.5 * this.share) this.profileDiv /= 2;
    p.setHz(p.maxHz / this.profileDiv);
  }

  /** credit not spoken for: over the armed backends' reserve and what was armed since the last tick */
  private free(): number {
    return this.credit - this.reserve - this.committed;
  }

  /** kernel.bpf_stats_enabled, read again once a second (someone may turn it on or off) */
  private bpfStatsOn(): boolean {
    const now = Date.now();
    if (now - this.statsOn.atMs < STATS_READ_MS) return this.statsOn.on;
    this.statsOn = { on: this.statsSysctl.read()?.trim() === '1', atMs: now };
    return this.statsOn.on;
  }

  /** Lets go of the /proc files the tick keeps open. */
  close(): void {
    this.clusterCpu.close();
    this.statsSysctl.close();
  }

  status(): BudgetStatus {
    const w = this.window.reduce((s, x) => ({ cpu: s.cpu + x.cpuNs, cost: s.cost + x.costNs }), { cpu: 0, cost: 0 });
    return {
      maxOverheadPct: this.share * 100,
      recentPct: w.cpu > 0 ? (100 * w.cost) / w.cpu : 0,
      totalPct: this.totals.cpuNs > 0 ? (100 * this.totals.costNs) / this.totals.cpuNs : 0,
      backendCpuMs: this.totals.cpuNs / 1e6,
      probeCostMs: this.totals.costNs / 1e6,
      profileCostMs: this.profileCostNs / 1e6,
      profileDivisor: this.profileDiv,
      probeHits: this.totals.hits,
      nsPerHit: this.nsPerHit,
      bodyMeasured: this.bodyMeasured,
      creditMs: this.credit / 1e6,
      armedCostShare: this.costShare,
      removalS: this.removal.s,
      removalQueue: this.removal.queue,
      removalPerLinkMs: this.removal.perLinkS * 1000,
      reserveMs: this.reserve / 1e6,
      ...this.counts,
    };
  }
}
