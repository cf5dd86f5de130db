// The collector: loads the BPF object, attaches the gate (the tracepoint
// programs that follow backends at their socket), and wires the parts:
// cluster watching (clusters/), per-backend probes (arming/) and the data
// path from ring buffer to export queue (pipeline/). Run-time switches
// (enable, root sampling rate) go to the BPF `settings` map, so they apply
// without reattaching.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BpfLink, BpfMap, BpfObject, ProgramInfo, RingBufferReader } from '@pgferret/bpf-loader';
import { Arming, type ProbeKind } from './arming/arming';
import { ProbeBudget } from './arming/budget';
import { type Beat, Heartbeat } from './io/heartbeat';
import { EncryptedBackends } from './arming/encrypted';
import { CpuClocks } from './arming/profile';
import { Clusters } from './clusters/clusters';
import { Resources } from './clusters/resources';
import type { Annotator, CollectorControl, CollectorStatus, StatementListener } from './control/collector-control';
import type { ClusterFilter } from './discover/filter';
import { BackendEvent, CONFIG, COUNTER_COUNT, Counter, TEXT_MAX } from './events/layout';
import type { ExportQueue } from './export/queue';
import { Maps, Programs, type ProgramName } from './kernel/bpf-names';
import { loadWithSocketHook, PROGRAMS, type LoadedProbes, type OptionalFeature, type SocketHook } from './kernel/load';
import { u32Key } from './kernel/map-keys';
import type { ClusterView } from './pipeline/enrich';
import { Pipeline } from './pipeline/pipeline';
import type { Detail } from './probes/tables';
import type { Statement } from './spans/assemble';
import { INSIDE_DEFAULTS } from './spans/build';
import type { InsideOptions } from './spans/inside-spans';

export const BPF_OBJECT = path.join(__dirname, '..', 'build', 'pgferret.bpf.o');

export interface CollectorOptions {
  queue: ExportQueue;
  filter?: ClusterFilter;
  /** share of statements without a traceparent traced as root spans, 0..1 */
  rootSampleRate: number;
  rawQueryText: boolean;
  /** 'full': phases and what happens inside them; 'phases': parse/plan/execute/commit children; 'statement': statement spans only, fewest probe hits */
  detail: Detail;
  /** with 'full': wait threshold and nested-statement cap */
  inside?: InsideOptions;
  /** a connection to name the blockers of lock waits (the cluster on its port) */
  postgresUrl?: string;
  /** bytes of statement text sent from the kernel (at most 4095) */
  maxQueryText: number;
  /** percent of the traced backends' CPU the per-backend probes may cost (default 1; 100: no limit) */
  maxOverheadPct?: number;
  /** share of new backends of a cluster with sampled traffic armed at their fork, within the budget (default 1) */
  armAtFork?: number;
  serviceName?: string;
  rescanMs?: number;
  /** periodic work shared with the export queue's flush (run.ts); else the collector's own */
  heartbeat?: Heartbeat;
  log?: (msg: string) => void;
  /** the BPF object, loaded (loadProbes); else start() loads BPF_OBJECT */
  probes?: LoadedProbes;
  /** called with every assembled statement, before (and whether or not) its spans are queued: metrics, diagnose */
  statementListeners?: StatementListener[];
  /** extra attributes for a statement's span (plans of slow statements); a promise holds its spans until it settles */
  annotate?: Annotator;
  /** CPU samples per second of an armed backend's CPU time, kept while it is inside a sampled request cycle (0: no profile) */
  profileHz?: number;
}

export const PROFILE_HZ_DEFAULT = 997;

/** A backend with phase probes stays armed this long after its last sampled statement. */
const ARM_IDLE_MS = 60_000;
/** How often the ring buffer is drained while records flood in (records that must be read at once wake the collector anyway). */
const DRAIN_EVERY_MS = 5;
/**
 * While drains find fewer records than this (~10,000 a second at the longest period: a flood), the drain
 * backs off to DRAIN_MAX_MS: the collector then reads
 * a pool's records in one large batch a second, not ~100 small ones — each wake-up runs on cold caches, and
 * the same statements cost less CPU in fewer, larger batches (BENCHMARKS.md: 5–20 ms → 100 ms drains took
 * ~25 % off at 10 % of TPC-B; 100 ms → 1 s took an idle collector from 13 wake-ups a second to 4 and
 * 3.0 → 2.0 ms/s, and 150 sampled statements a second with --detail statement from 58 to 36 µs each).
 * A flood still drains every 5 ms, and
 * one that starts while the timer waits wakes the collector itself: the record that takes the ring past
 * each MB wakes it (bpf/maps.bpf.h, FILL_STEP), long before the 8 MB ring is full. Records come at most a
 * second late: spans are exported once a second anyway, and what must be acted on at once wakes the
 * collector (a sampled statement on an unarmed backend, a backend's birth, a lock wait with --postgres-url).
 * The drain timer is also the clock of the periodic work (io/heartbeat.ts): it ticks at least as often as
 * the shortest of their periods (the budget's 200 ms while it has something to decide).
 */
const DRAIN_BATCH_RECORDS = 10_240;
const DRAIN_MAX_MS = 1000;
/**
 * While a backend has a CPU clock: its clock is switched on when the collector reads its statement's start,
 * so a slow statement read late misses the start of its profile — a 200 ms statement read 50 ms late would
 * miss a quarter of it, one read a second late all of it.
 */
const PROFILED_DRAIN_MAX_MS = 100;
/**
 * And while sampled statements were slow lately too. Short statements still begin and end between two
 * drains: their clock is never switched. Not for workloads without slow statements: at 200 statements a
 * second the extra drains cost the collector half as much CPU again (BENCHMARKS.md).
 */
const CLOCKED_DRAIN_MAX_MS = 10;
/**
 * a sampled statement this long is slow: worth a profile that starts with it (~50 samples at the default
 * rate; an OLTP workload's occasional 20 ms statement would keep the drain tight for nothing)
 */
const SLOW_STATEMENT_NS = 50_000_000;
/** the drain stays tight this long after the last slow sampled statement */
const SLOW_RECENTLY_MS = 60_000;
/** How often the overhead budget measures and arms/disarms; while it is quiet (nothing sampled, nothing armed), this often instead. */
const BUDGET_TICK_MS = 200;
const BUDGET_QUIET_TICK_MS = 1_000;
// the per-backend detail probes: what the budget pays for (not the encrypted backends' be_tls_*/be_gssapi_* probes)
const PROBE_PROGRAMS = new Set<string>([...PROGRAMS.phases, ...PROGRAMS.locks, ...PROGRAMS.nested]);

// the gate: trap-free tracepoints, attached once for the whole host and
// filtered in the kernel to backends of followed postmasters (and the socket
// hook, kernel/load.ts)
const GATE: [ProgramName, string, string][] = [
  [Programs.on_fork, 'sched', 'sched_process_fork'],
  [Programs.on_task_exit, 'sched', 'sched_process_exit'],
];
// waits: every context switch, filtered in the kernel to backends inside sampled request cycles
const WAITS: [ProgramName, string, string] = [Programs.on_switch, 'sched', 'sched_switch'];

const COUNTER_NAMES = Object.fromEntries(Object.entries(Counter).map(([k, v]) => [v, k.toLowerCase()]));

export class Collector implements CollectorControl {
  private obj: BpfObject | null = null;
  private reader: RingBufferReader | null = null;
  /** the kernel's per-CPU counters (`counters` map), while loaded */
  private counters: BpfMap | null = null;
  private gate: BpfLink[] = [];
  private readonly heartbeat: Heartbeat;
  private rescanBeat: Beat | null = null;
  private budgetBeat: Beat | null = null;
  private budget: ProbeBudget | null = null;
  private clusters: Clusters | null = null;
  /** the phase probes of backends that carry sampled statements */
  private phases: Arming | null = null;
  /** optional features whose programs the kernel refused, and why */
  private refused: Record<OptionalFeature, string | null> = { phases: null, waits: null, locks: null, nested: null, tls: null, profile: null };
  private programs: ProgramInfo[] = [];
  private uprobeMulti = false;
  private socketHook: { hook: SocketHook; fallback: string | null } = { hook: 'fexit', fallback: null };
  private readonly pipeline: Pipeline;
  /** encrypted (TLS, GSSAPI) backends: their read/write probes, one set per cluster binary */
  private encrypted: EncryptedBackends | null = null;
  private readonly resources: Resources;
  /** the CPU clocks of backends that carry sampled statements (null: no profile) */
  private clocks: CpuClocks | null = null;
  /** the longest the ring's drain backs off to now */
  private backoffMs = DRAIN_MAX_MS;
  /** the shortest period of the periodic work the drain timer drives */
  private beatMs = Infinity;
  /** when a sampled statement last took SLOW_STATEMENT_NS or more (Date.now()) */
  private slowAtMs = -Infinity;
  private untimed = 0;
  private listeners: StatementListener[];
  private enabled = true;
  /** sampled statements on unarmed backends wake us (the budget would arm them now) */
  private wakeUnarmed = true;
  private rootSampleRate: number;
  private readonly log: (msg: string) => void;

  constructor(private readonly opts: CollectorOptions) {
    this.rootSampleRate = opts.rootSampleRate;
    this.heartbeat = opts.heartbeat ?? new Heartbeat();
    this.listeners = [...(opts.statementListeners ?? [])];
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.resources = new Resources(opts.serviceName);
    this.pipeline = new Pipeline({
      queue: opts.queue,
      rawQueryText: opts.rawQueryText,
      inside: this.insideOptions,
      postgresUrl: opts.postgresUrl,
      rootSampleRate: () => this.rootSampleRate,
      cluster: (ppid) => this.clusterView(ppid),
      fallbackResource: this.resources.fallback,
      listeners: () => this.listeners,
      annotate: opts.annotate,
      timedThrough: (pid, startNs, endNs) => this.phases?.timedThrough(pid, startNs, endNs) ?? false,
      shedWhy: (s) => {
        if (this.detail === 'statement') return 'off';
        return this.phases?.heldBack(s.start.pid) ? 'budget' : 'late';
      },
      taps: {
        statement: (s) => this.sampled(s),
        encrypted: (pid, ppid, event) => this.encrypted?.add(pid, ppid, event === BackendEvent.GSSENC),
        fork: (pid, ppid) => this.forked(pid, ppid),
        cycle: (pid, open) => this.clocks?.cycle(pid, open),
      },
      log: this.log,
      // the rate in effect when a statement's spans are built (the budget may have lowered it)
      profileHz: () => this.clocks?.hz ?? 0,
    });
  }

  start(): void {
    const { loaded, links } = loadWithSocketHook(BPF_OBJECT, this.log, this.opts.probes);
    const obj = loaded.obj;
    this.obj = obj;
    this.gate.push(...links);
    this.socketHook = { hook: loaded.socketHook, fallback: loaded.socketFallback };
    this.counters = obj.map(Maps.counters);
    this.refused = loaded.refused;
    this.programs = loaded.programs;
    this.uprobeMulti = loaded.uprobeMulti;
    try {
      this.writeSettings(obj);
      // the kernel submits records without waking us (but for lock waits and backend events): drained on a timer
      this.reader = obj.ringBuffer(Maps.events, (batch) => this.onBatch(batch), {
        drainEveryMs: DRAIN_EVERY_MS, minBatchRecords: DRAIN_BATCH_RECORDS, onTimer: () => this.heartbeat.tick(),
      });
      this.reader.setBackoff(DRAIN_MAX_MS);
      const tracepoints = this.detail === 'full' && this.refused.waits === null ? [...GATE, WAITS] : GATE;
      for (const [program, category, name] of tracepoints) this.gate.push(obj.attachTracepoint({ program, category, name }));
      // not under the budget: without these probes an encrypted backend has no statement spans at all
      const encrypted = new EncryptedBackends({
        obj,
        binaryOf: (ppid) => this.clusters?.get(ppid)?.pm.binaryId ?? null,
        refused: this.refused.tls,
        log: this.log,
      });
      this.encrypted = encrypted;
      // a binary's encrypted read/write probes go in before any of its backends is followed
      const clusters = new Clusters({
        obj, filter: this.opts.filter, detail: this.detail, refused: this.refused, resources: this.resources, log: this.log,
        binaries: { read: (id, pm, elf) => encrypted.attachBinary(id, pm.exePath, pm.exeName, elf), gone: (id) => encrypted.forgetBinary(id) },
      });
      this.clusters = clusters;
      // what the budget pays for, as loaded: their run time and runs (bpf_stats: zero while kernel.bpf_stats_enabled is 0)
      const probePrograms = obj.programInfo().filter((p) => p.loaded && PROBE_PROGRAMS.has(p.name)).map((p) => p.name);
      const budget: ProbeBudget = new ProbeBudget({
        maxOverheadPct: this.opts.maxOverheadPct ?? 1,
        armAtFork: this.opts.armAtFork ?? 1,
        arming: (this.phases = new Arming(obj, this.phaseProbes(clusters), (pid, ppid) => budget.allow(pid, ppid))),
        postmasters: () => clusters.status().filter((c) => !c.error).map((c) => c.pid),
        hits: () => this.kernelCounter(Counter.PHASE_HITS),
        programStats: () => obj.runStats(probePrograms),
        profile: this.profileHz > 0 && this.profileRefused === null ? {
          ticks: () => this.kernelCounter(Counter.SAMPLES) + this.kernelCounter(Counter.SAMPLES_IDLE),
          maxHz: this.profileHz,
          setHz: (hz) => this.clocks?.setHz(hz),
        } : undefined,
      });
      this.budget = budget;
      const elfOf = (ppid: number) => {
        const cluster = clusters.get(ppid);
        return (cluster && clusters.binaryOf(cluster)?.elf) ?? null;
      };
      if (this.profileHz > 0 && this.profileRefused === null) this.clocks = new CpuClocks({ obj, hz: this.profileHz, idleMs: ARM_IDLE_MS, elfOf, switchedOn: (pid, atNs) => this.pipeline.clockOn(pid, atNs), attached: () => this.drainBackoff() });
      this.rescan();
    } catch (e) {
      this.stop();
      throw e;
    }
    this.rescanBeat = this.heartbeat.every(this.opts.rescanMs ?? 2000, () => this.rescan());
    if (this.detail !== 'statement') {
      const beat = this.heartbeat.every(BUDGET_TICK_MS, () => {
        this.budgetTick();
        beat.setPeriod(this.budget?.quiet() ? BUDGET_QUIET_TICK_MS : BUDGET_TICK_MS);
      });
      this.budgetBeat = beat;
    }
    this.heartbeat.drive((ms) => {
      this.beatMs = ms;
      this.drainBackoff();
    });
  }

  /** Something for the budget to weigh: its next tick comes at the usual pace. */
  private wakeBudget(): void {
    this.budgetBeat?.setPeriod(BUDGET_TICK_MS);
  }

  private budgetTick(): void {
    if (!this.budget || !this.obj) return;
    this.budget.tick();
    // out of credit, a sampled statement on an unarmed backend would not arm it: no wakeup for it
    const wake = this.budget.armsOnUse();
    if (wake !== this.wakeUnarmed) {
      this.wakeUnarmed = wake;
      this.writeSettings(this.obj);
    }
  }

  /** A new backend of a followed postmaster: the budget may arm it before its first statement. */
  private forked(pid: number, ppid: number): void {
    if (this.detail === 'statement') return;
    this.wakeBudget();
    this.budget?.forked(pid, ppid);
  }

  /** The phase probes of a backend's cluster, then its lock and SPI probes. */
  private phaseProbes(clusters: Clusters): ProbeKind {
    return {
      laterName: 'lock/SPI probes',
      idleMs: ARM_IDLE_MS,
      uprobeMulti: this.uprobeMulti,
      target: (pid, ppid) => {
        const cluster = clusters.get(ppid);
        const bin = cluster && clusters.binaryOf(cluster);
        if (!bin) return null;
        // through the backend's own /proc entry: its postmaster may have been replaced since the binary was read;
        // a backend just forked may not show its exe yet, and its postmaster, alive, runs the same one
        const own = `/proc/${pid}/exe`;
        const binaryPath = fs.statSync(own, { throwIfNoEntry: false }) ? own : `/proc/${ppid}/exe`;
        return { binaryPath, elf: bin.elf, probes: bin.set.probes, later: cluster.inside?.probes ?? [] };
      },
    };
  }

  private get profileHz(): number {
    return this.opts.profileHz ?? PROFILE_HZ_DEFAULT;
  }

  /** Why sampled statements get no CPU profile though --profile-hz asks for one; null: they do. */
  private get profileRefused(): string | null {
    if (this.profileHz === 0) return null;
    if (this.refused.profile !== null) return `the kernel refused its program: ${this.refused.profile}`;
    return this.detail === 'statement' ? '--detail statement (no per-backend probes)' : null;
  }

  private clusterView(ppid: number): ClusterView | undefined {
    const c = this.clusters?.get(ppid);
    if (!c) return undefined;
    const inside = c.inside && c.pm.major !== null ? { major: c.pm.major, waits: c.inside.off.waits === null } : null;
    return { resource: c.resource, port: c.pm.port, inside };
  }

  /** Adds a statement listener while running (diagnose through the admin API); returns its removal. */
  addStatementListener(l: StatementListener): () => void {
    this.listeners = [...this.listeners, l];
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    if (this.obj) this.writeSettings(this.obj);
  }

  setRootSampleRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`root sample rate must be between 0 and 1, got ${rate}`);
    this.rootSampleRate = rate;
    if (this.obj) this.writeSettings(this.obj);
  }

  private writeSettings(obj: BpfObject): void {
    const v = Buffer.alloc(CONFIG.size);
    v.writeUInt32LE(this.enabled ? 1 : 0, CONFIG.enabled);
    v.writeUInt32LE(Math.round(this.rootSampleRate * 1_000_000), CONFIG.root_sample_ppm);
    v.writeUInt32LE(Math.max(0, Math.min(this.opts.maxQueryText, TEXT_MAX - 1)), CONFIG.text_max);
    v.writeUInt32LE(this.insideOptions.nestedCap, CONFIG.nest_cap);
    // --detail statement never arms: a wakeup would only cost the backend that makes it
    v.writeUInt32LE(this.wakeUnarmed && this.detail !== 'statement' ? 1 : 0, CONFIG.wake_unarmed);
    // a lock wait's blockers are asked for only over --postgres-url: without it a wakeup would buy nothing
    v.writeUInt32LE(this.opts.postgresUrl ? 1 : 0, CONFIG.wake_locks);
    obj.map(Maps.settings).update(u32Key(0), v);
  }

  private onBatch(batch: Buffer): void {
    this.pipeline.push(batch);
    this.phases?.armSoon();
    this.clocks?.flush();
    this.drainBackoff();
  }

  private drainBackoff(): void {
    const drain = !this.clocks?.attached() ? DRAIN_MAX_MS : Date.now() - this.slowAtMs < SLOW_RECENTLY_MS ? CLOCKED_DRAIN_MAX_MS : PROFILED_DRAIN_MAX_MS;
    // the drain timer is the periodic work's clock too (io/heartbeat.ts)
    const ms = Math.min(drain, this.beatMs);
    if (ms === this.backoffMs) return;
    this.backoffMs = ms;
    this.reader?.setBackoff(ms);
  }

  /** A sampled statement: its backend gets (or keeps) its phase probes. */
  private sampled(s: Statement): void {
    if (this.detail === 'statement') return;
    this.wakeBudget();
    this.budget?.sampled(s.start.ppid);
    this.phases?.use(s.start.pid, s.start.ppid);
    this.clocks?.use(s.start.pid, s.start.ppid);
    if (!s.timed) this.untimed++;
    if (s.endNs - s.startNs >= SLOW_STATEMENT_NS) this.slowAtMs = Date.now();
  }

  /** Finds clusters that appeared or went away; disarms backends that are gone or idle. */
  rescan(): void {
    if (!this.obj || !this.clusters || !this.phases) return;
    this.clusters.rescan();
    // what the gone backends sent before they exited is assembled first: a collector behind on the
    // ring buffer would otherwise forget a backend (its arming, its open statements, its identity)
    // before reading its last statements. Gone means gone before that drain (not in the listing
    // taken first); one that exits after it is forgotten at the next rescan.
    const listed = new Set(fs.readdirSync('/proc'));
    this.reader?.drain();
    const alive = (pid: number) => listed.has(String(pid)) || fs.existsSync(`/proc/${pid}`);
    this.phases.sweep(alive);
    this.clocks?.sweep(alive);
    this.drainBackoff();
    this.pipeline.sweep(alive);
    this.encrypted?.sweep(alive);
  }

  /** --detail as the kernel allows it: without phase programs, statement spans only */
  private get detail(): Detail {
    return this.refused.phases !== null ? 'statement' : this.opts.detail;
  }

  private get insideOptions(): InsideOptions {
    return this.opts.inside ?? INSIDE_DEFAULTS;
  }

  /** One kernel counter, summed over the CPUs (the budget's tick reads two or three, not all of them). */
  private kernelCounter(i: Counter): number {
    if (!this.obj || !this.counters) return 0;
    let sum = 0;
    for (const v of this.counters.lookupPerCpu(u32Key(i))) sum += Number(v.readBigUInt64LE(0));
    return sum;
  }

  /** Backends with a sampled request cycle open, as the kernel counts them for the scheduler hook (0 lets it skip every lookup). */
  private sampledBackends(): number {
    const v = this.obj?.map(Maps.sampled_backends).lookup(u32Key(0));
    return v ? Number(v.readBigInt64LE(0)) : 0;
  }

  kernelCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.obj) return out;
    for (let i = 0; i < COUNTER_COUNT; i++) out[COUNTER_NAMES[i]] = this.kernelCounter(i as Counter);
    return out;
  }

  status(): CollectorStatus {
    const p = this.pipeline.stats();
    const arming = this.phases?.status() ?? { armed: 0, armedPids: [], completePids: [], waiting: 0, disarmings: 0, removing: 0, removalS: [], armings: 0, meanArmingMs: 0, armFailures: 0, lastArmError: null };
    return {
      enabled: this.enabled,
      rootSampleRate: this.rootSampleRate,
      detail: this.detail,
      refused: { ...this.refused },
      programs: this.programs.map((x) => ({ name: x.name, loaded: x.loaded, verifiedInsns: x.verifiedInsns })),
      uprobeMulti: this.uprobeMulti,
      socketHook: { ...this.socketHook },
      clusters: this.clusters?.status() ?? [],
      binaries: this.clusters?.binariesStatus() ?? [],
      backends: { ...arming, tls: this.encrypted?.followed ?? 0 },
      encrypted: this.encrypted?.status() ?? { tls: 0, gssenc: 0, followed: 0, notFollowed: 0, lastError: null },
      profile: {
        hz: this.clocks?.hz ?? 0, refused: this.profileRefused, samplesDropped: p.samplesDropped,
        ...(this.clocks?.status() ?? { clocks: 0, armings: 0, failures: 0, lastError: null }),
      },
      kernel: this.kernelCounters(),
      sampledBackends: this.sampledBackends(),
      ringBuffer: this.reader ? { ...this.reader.stats } : { records: 0, bytes: 0, batches: 0, errors: 0, lastError: null },
      decode: p.decode,
      statements: p.statements,
      untimedStatements: this.untimed,
      phases: { timed: p.detail.phases, budget: p.detail.budget, late: p.detail.late, off: p.detail.off, share: p.statements > 0 ? p.detail.phases / p.statements : null },
      budget: this.budget?.status() ?? null,
      rejectedContexts: p.rejectedContexts,
      openCycles: p.openCycles,
      orphanMarks: p.orphanMarks,
      unknownPrepared: p.unknownPrepared,
      blockerLookups: p.blockerLookups,
      buildFailures: p.buildFailures,
      export: { ...this.opts.queue.stats },
    };
  }

  /** Detaches everything and flushes what was assembled. Idempotent. */
  stop(): void {
    this.rescanBeat?.stop();
    this.rescanBeat = null;
    this.budgetBeat?.stop();
    this.budgetBeat = null;
    // what else rides the drain timer (the export queue's flush) runs on its own again
    if (this.heartbeat.driven) this.heartbeat.undrive();
    this.reader?.close();
    this.reader = null;
    this.budget?.close();
    this.phases?.stop();
    this.encrypted?.stop();
    this.clocks?.stop();
    this.clocks = null;
    for (const l of this.gate) l.detach();
    this.gate = [];
    this.clusters?.clear();
    this.counters = null;
    this.obj?.close();
    this.obj = null;
    this.pipeline.flush();
  }
}
