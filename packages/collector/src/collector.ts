// The collector: finds clusters, follows their backends at the socket (the
// tracepoint programs), arms the backends that carry sampled statements with
// phase probes, reads the ring buffer, assembles statements and hands spans
// to the export queue. Run-time switches (enable, root sampling rate) go to
// the BPF `settings` map, so they apply without reattaching.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Attributes } from '@opentelemetry/api';
import type { BpfLink, BpfObject, ProgramInfo, RingBufferReader, RingBufferStats } from '@pgferret/bpf-loader';
import { detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { containerIdOf } from './discover/container';
import { readElf, type ElfInfo } from './discover/elf';
import { MatchReport } from './discover/match-report';
import { backendIdentity, childrenOf, findPostmasters, type Postmaster } from './discover/postmasters';
import { decodeBatch, type DecodeStats } from './events/decode';
import { BACKEND_STATE, CONFIG, COUNTER_COUNT, Counter, Proto, TEXT_MAX } from './events/layout';
import type { ExportQueue } from './export/queue';
import { BLOCKER_WAIT_MS, BlockerLookup } from './inside/blockers';
import { FEATURES, planInside, type Feature, type InsidePlan } from './inside/cluster-facts';
import { loadProbes, type LoadedProbes, type OptionalFeature } from './kernel/load';
import { waitEventsMissingFromTable } from './pg/wait-event-check';
import { armBackend, type ArmedBackend } from './probes/attach';
import { chooseProbeSet, MIN_MAJOR, type Detail, type Probe, type ProbeSet } from './probes/tables';
import { Assembler, type Statement } from './spans/assemble';
import { buildSpans, INSIDE_DEFAULTS, type BackendInfo } from './spans/build';
import type { InsideOptions } from './spans/inside-spans';
import { checkTraceContext, type ContextCheck } from './spans/confirm';
import { MonotonicClock } from './spans/clock';
import { SqlDescriber } from './spans/describe';

export const BPF_OBJECT = path.join(__dirname, '..', 'build', 'pgferret.bpf.o');

export interface ClusterFilter {
  pids?: number[];
  dataDirs?: string[];
  ports?: number[];
}

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
  serviceName?: string;
  rescanMs?: number;
  log?: (msg: string) => void;
  /** the BPF object, loaded (loadProbes); else start() loads BPF_OBJECT */
  probes?: LoadedProbes;
  /** called with every assembled statement, before (and whether or not) its spans are queued: metrics, diagnose */
  statementListeners?: StatementListener[];
  /** extra attributes for a statement's span (plans of slow statements); a promise holds its spans until it settles */
  annotate?: Annotator;
}

export type StatementListener = (s: Statement, backend: BackendInfo) => void;
export type Annotator = (s: Statement, backend: BackendInfo, clusterPort: number | null) => Attributes | Promise<Attributes> | null;

export interface ClusterStatus {
  pid: number;
  dataDir: string;
  port: number | null;
  major: number | null;
  binary: string;
  probeSet: string | null;
  error: string | null;
  /** per feature of --detail full: null when on, else why it is off for this cluster */
  inside: Record<Feature, string | null> | null;
}

export interface CollectorStatus {
  enabled: boolean;
  rootSampleRate: number;
  detail: Detail;
  /** optional features whose BPF programs the kernel refused: null when loaded, else why */
  refused: Record<OptionalFeature, string | null>;
  /** every program of the object: loaded or left out, and the verifier instructions it took */
  programs: { name: string; loaded: boolean; verifiedInsns: number }[];
  clusters: ClusterStatus[];
  /** executables of attached clusters and the phase probes their armed backends get */
  binaries: { exe: string; probeSet: string; probes: string }[];
  backends: {
    /** backends with phase probes now */
    armed: number;
    /** backends armed so far, and the mean time attaching their probes took */
    armings: number;
    meanArmingMs: number;
    /** arming attempts that failed (see lastArmError) */
    armFailures: number;
    lastArmError: string | null;
    /** backends that negotiated TLS: their statements cannot be read at the socket */
    tls: number;
  };
  kernel: Record<string, number>;
  ringBuffer: RingBufferStats;
  decode: DecodeStats;
  statements: number;
  /** sampled statements that ran before their backend had phase probes */
  untimedStatements: number;
  /** traceparents the kernel found that the lexer places in no real comment (counted as malformed) */
  rejectedContexts: number;
  openCycles: number;
  orphanMarks: number;
  /** statements whose spans could not be built (a bug: the log has the first one's error) */
  buildFailures: number;
  /** lock waits whose blockers were asked for over --postgres-url, and how many of those questions failed */
  blockerLookups: { asked: number; failed: number };
  export: ExportQueue['stats'];
}

interface Cluster {
  pm: Postmaster;
  resource: Resource;
  error: string | null;
  probeSet: string | null;
  inside: InsidePlan | null;
}

interface Binary {
  /** the executable's name on disk when its first postmaster started (phase probes go through each backend's /proc entry) */
  exeName: string;
  set: ProbeSet;
  elf: ElfInfo;
}

/** A backend with phase probes stays armed this long after its last sampled statement. */
const ARM_IDLE_MS = 60_000;
/** How often the ring buffer is drained while records come (10× that while idle): a sampled statement's records wait at most this long. */
const DRAIN_EVERY_MS = 5;
/** A backend whose arming failed is tried again after this long. */
const ARM_RETRY_MS = 5_000;

/** A u32 map key (pids, counter indexes). */
function u32Key(n: number): Buffer {
  const key = Buffer.alloc(4);
  key.writeUInt32LE(n);
  return key;
}

const COUNTER_NAMES = Object.fromEntries(Object.entries(Counter).map(([k, v]) => [v, k.toLowerCase()]));

export class Collector {
  private obj: BpfObject | null = null;
  /** optional features whose programs the kernel refused, and why */
  private refused: Record<OptionalFeature, string | null> = { phases: null, waits: null, locks: null, nested: null };
  private programs: ProgramInfo[] = [];
  private reader: RingBufferReader | null = null;
  private timer: NodeJS.Timeout | null = null;
  private gate: BpfLink[] = [];
  private binaries = new Map<string, Binary>();
  private failedBinaries = new Map<string, string>();
  private clusters = new Map<number, Cluster>();
  private backends = new Map<number, BackendInfo>();
  private armed = new Map<number, ArmedBackend & { lastSampledMs: number }>();
  /** backends to arm: pid → its postmaster's pid (from the kernel's record) */
  private armQueue = new Map<number, number>();
  private armFailures = 0;
  private armFailedAt = new Map<number, number>();
  private armings = 0;
  private armingMs = 0;
  private lastArmError: string | null = null;
  private tlsPids = new Set<number>();
  private clock = new MonotonicClock();
  private describer: SqlDescriber;
  private assembler: Assembler;
  private decodeStats: DecodeStats = { records: 0, invalid: 0 };
  private statements = 0;
  private untimed = 0;
  private buildFailures = 0;
  private rejectedContexts = 0;
  private listenerFailed = false;
  private listeners: StatementListener[];
  private enabled = true;
  private rootSampleRate: number;
  private readonly log: (msg: string) => void;
  private readonly envResource: Resource;
  /** for statements of a postmaster that is no longer listed (it stopped meanwhile) */
  private readonly fallbackResource: Resource;
  private readonly matchReport: MatchReport;
  private readonly blockers: BlockerLookup;

  constructor(private readonly opts: CollectorOptions) {
    this.rootSampleRate = opts.rootSampleRate;
    this.listeners = [...(opts.statementListeners ?? [])];
    this.log = opts.log ?? ((m) => process.stderr.write(`${m}\n`));
    this.assembler = new Assembler(
      (s) => this.onStatement(s),
      (pid) => this.onTls(pid),
      (pid, ts) => { const a = this.armed.get(pid); return a !== undefined && a.sinceNs <= ts; },
      (pid, ppid, lock) => this.blockers.lookup(pid, this.clusters.get(ppid)?.pm.port ?? null, lock),
    );
    let urlPort: number | null = null;
    if (opts.postgresUrl) {
      try {
        urlPort = Number(new URL(opts.postgresUrl).port || 5432);
      } catch {
        throw new Error(`--postgres-url ${opts.postgresUrl} is not a URL: use postgres://user@host:port/database`);
      }
    }
    this.blockers = new BlockerLookup({ url: opts.postgresUrl ?? null, port: urlPort, holderSpan: (pid) => this.assembler.holderSpan(pid), log: this.log });
    this.describer = new SqlDescriber(opts.rawQueryText);
    this.envResource = detectResources({ detectors: [envDetector] });
    this.fallbackResource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: opts.serviceName ?? 'postgresql' }).merge(this.envResource);
    this.matchReport = new MatchReport(opts.filter, this.log);
  }

  start(): void {
    const loaded = this.opts.probes ?? loadProbes(BPF_OBJECT, this.log);
    const obj = loaded.obj;
    this.obj = obj;
    this.refused = loaded.refused;
    this.programs = loaded.programs;
    try {
      this.writeSettings();
      // the kernel submits records without waking us (but for lock waits and backend events): drained on a timer
      this.reader = obj.ringBuffer('events', (batch) => this.onBatch(batch), { drainEveryMs: DRAIN_EVERY_MS });
      // the gate: trap-free tracepoints, attached once for the whole host and
      // filtered in the kernel to backends of followed postmasters
      const tracepoints = [['on_fork', 'sched', 'sched_process_fork'], ['on_task_exit', 'sched', 'sched_process_exit'], ['on_sys_exit', 'raw_syscalls', 'sys_exit']];
      // waits: every context switch, filtered in the kernel to backends inside sampled request cycles
      if (this.detail === 'full' && this.refused.waits === null) tracepoints.push(['on_switch', 'sched', 'sched_switch']);
      for (const [program, category, name] of tracepoints) {
        this.gate.push(obj.attachTracepoint({ program, category, name }));
      }
      this.rescan();
    } catch (e) {
      this.stop();
      throw e;
    }
    this.timer = setInterval(() => this.rescan(), this.opts.rescanMs ?? 2000);
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
    this.writeSettings();
  }

  setRootSampleRate(rate: number): void {
    if (!(rate >= 0 && rate <= 1)) throw new Error(`root sample rate must be between 0 and 1, got ${rate}`);
    this.rootSampleRate = rate;
    this.writeSettings();
  }

  private writeSettings(): void {
    if (!this.obj) return;
    const v = Buffer.alloc(CONFIG.size);
    v.writeUInt32LE(this.enabled ? 1 : 0, CONFIG.enabled);
    v.writeUInt32LE(Math.round(this.rootSampleRate * 1_000_000), CONFIG.root_sample_ppm);
    v.writeUInt32LE(Math.max(0, Math.min(this.opts.maxQueryText, TEXT_MAX - 1)), CONFIG.text_max);
    v.writeUInt32LE(this.insideOptions.nestedCap, CONFIG.nest_cap);
    this.obj.map('settings').update(u32Key(0), v);
  }

  private onBatch(batch: Buffer): void {
    decodeBatch(batch, this.assembler, this.decodeStats);
    if (this.armQueue.size > 0) setImmediate(() => this.armPending());
  }

  private selected(pm: Postmaster): boolean {
    const f = this.opts.filter;
    if (!f) return true;
    if (f.pids?.length && !f.pids.includes(pm.pid)) return false;
    if (f.dataDirs?.length && !f.dataDirs.some((d) => path.resolve(d) === pm.dataDir)) return false;
    if (f.ports?.length && (pm.port === null || !f.ports.includes(pm.port))) return false;
    return true;
  }

  private resourceFor(pm: Postmaster): Resource {
    const attrs: Record<string, string | number> = {
      [ATTR_SERVICE_NAME]: this.opts.serviceName ?? 'postgresql',
      'host.name': os.hostname(),
      'db.system.name': 'postgresql',
      'postgresql.cluster.data_directory': pm.dataDir,
      'postgresql.postmaster.pid': pm.pid,
    };
    if (pm.port !== null) attrs['postgresql.cluster.port'] = pm.port;
    if (pm.major !== null) attrs['postgresql.version'] = String(pm.major);
    const container = containerIdOf(pm.pid);
    if (container) attrs['container.id'] = container;
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the defaults
    return resourceFromAttributes(attrs).merge(this.envResource);
  }

  /** Finds clusters that appeared or went away; disarms backends that are gone or idle. */
  rescan(): void {
    if (!this.obj) return;
    const seen = new Set<number>();
    const pmMap = this.obj.map('postmasters');
    const all = findPostmasters();
    for (const pm of all) {
      if (!this.selected(pm)) continue;
      seen.add(pm.pid);
      if (this.clusters.has(pm.pid)) continue;
      const cluster: Cluster = { pm, resource: this.resourceFor(pm), error: null, probeSet: null, inside: null };
      this.clusters.set(pm.pid, cluster);
      try {
        const bin = this.binaryOf(pm);
        cluster.probeSet = bin.set.name;
        cluster.inside = planInside({ pid: pm.pid, major: pm.major, exePath: `/proc/${pm.pid}/exe` }, bin.elf, bin.set, this.detail, this.refused);
        // new backends are followed from their fork on; the ones already running are adopted
        pmMap.update(u32Key(pm.pid), cluster.inside.value);
        const adopted = this.adoptBackends(pm.pid);
        const what = this.detail === 'statement' ? 'statement spans only' : `phases with ${bin.set.name} probes on backends that carry sampled statements`;
        this.log(`attached to PostgreSQL ${pm.major ?? '?'} (pid ${pm.pid}, port ${pm.port ?? '?'}, ${pm.dataDir}): following ${adopted} running backends at their sockets; ${what}`);
        if (this.detail === 'full') this.logInside(cluster.inside);
      } catch (e) {
        cluster.error = (e as Error).message;
        this.log(`cannot trace PostgreSQL pid ${pm.pid} (${pm.dataDir}): ${cluster.error}`);
      }
    }
    for (const [pid, c] of this.clusters) {
      if (seen.has(pid)) continue;
      this.clusters.delete(pid);
      pmMap.delete(u32Key(pid));
      this.log(`PostgreSQL pid ${pid} (${c.pm.dataDir}) stopped`);
      if (![...this.clusters.values()].some((o) => o.pm.binaryId === c.pm.binaryId)) {
        this.binaries.delete(c.pm.binaryId);
        this.failedBinaries.delete(c.pm.binaryId);
      }
    }
    this.matchReport.update(all, seen.size);
    const alive = (pid: number) => fs.existsSync(`/proc/${pid}`);
    const now = Date.now();
    for (const [pid, a] of this.armed) {
      if (alive(pid) && now - a.lastSampledMs < ARM_IDLE_MS) continue;
      a.detach();
      this.armed.delete(pid);
    }
    this.assembler.sweep(alive);
    for (const pid of this.backends.keys()) if (!alive(pid)) this.backends.delete(pid);
    for (const pid of this.tlsPids) if (!alive(pid)) this.tlsPids.delete(pid);
    for (const pid of this.armFailedAt.keys()) if (!alive(pid)) this.armFailedAt.delete(pid);
  }

  /** Puts the running backends of a postmaster in the kernel's `backends` map. */
  private adoptBackends(pmPid: number): number {
    const map = this.obj!.map('backends');
    const v = Buffer.alloc(BACKEND_STATE.size);
    v.writeUInt32LE(pmPid, BACKEND_STATE.ppid);
    v[BACKEND_STATE.proto] = Proto.UNSYNCED;
    v[BACKEND_STATE.out_synced] = 1;
    let n = 0;
    for (const pid of childrenOf(pmPid)) {
      try {
        map.update(u32Key(pid), v, 'noexist');
        n++;
      } catch {
        /* followed since its fork already */
      }
    }
    return n;
  }

  private binaryOf(pm: Postmaster): Binary {
    const have = this.binaries.get(pm.binaryId);
    if (have) return have;
    const failed = this.failedBinaries.get(pm.binaryId);
    if (failed) throw new Error(failed);
    try {
      if (pm.major !== null && pm.major < MIN_MAJOR) {
        throw new Error(`PostgreSQL ${pm.major} is older than ${MIN_MAJOR}, the oldest version pgferret supports`);
      }
      const elf = readElf(pm.exePath);
      const set = chooseProbeSet(elf);
      if (!set) throw new Error(`${pm.exeName} has neither the USDT probes nor the exported functions pgferret times phases with; is it a PostgreSQL server binary?`);
      const bin = { exeName: pm.exeName, set, elf };
      const newer = pm.major !== null ? waitEventsMissingFromTable(pm.major, pm.exePath, elf) : [];
      if (newer.length > 0) this.log(`${pm.exeName} (PostgreSQL ${pm.major}) has wait events pgferret's table for ${pm.major} lacks (${newer.join(', ')}; a newer minor release): spans name them by class and number; a newer pgferret names them`);
      this.binaries.set(pm.binaryId, bin);
      return bin;
    } catch (e) {
      this.failedBinaries.set(pm.binaryId, (e as Error).message);
      throw e;
    }
  }

  /** Backends that started carrying sampled statements get their phase probes. */
  private armPending(): void {
    const pending = [...this.armQueue];
    this.armQueue.clear();
    const now = Date.now();
    const extras: [ArmedBackend, Probe[]][] = [];
    for (const [pid, ppid] of pending) {
      if (this.armed.has(pid) || !this.obj) continue;
      // a backend that could not be armed is tried again after a pause, not at every statement
      if (now - (this.armFailedAt.get(pid) ?? -Infinity) < ARM_RETRY_MS) continue;
      const cluster = this.clusters.get(ppid);
      const bin = cluster && this.binaries.get(cluster.pm.binaryId);
      if (!bin) continue;
      try {
        const t0 = process.hrtime.bigint();
        // through the backend's own /proc entry: its postmaster may have been replaced since the binary was read
        const armed = armBackend(this.obj, pid, `/proc/${pid}/exe`, bin.set.probes, bin.elf);
        this.armed.set(pid, Object.assign(armed, { lastSampledMs: now }));
        if (cluster.inside?.probes.length) extras.push([armed, cluster.inside.probes]);
        this.armings++;
        this.armingMs += Number(process.hrtime.bigint() - t0) / 1e6;
        this.armFailedAt.delete(pid);
      } catch (e) {
        // the backend may have exited meanwhile: counted and shown in status, not logged each time
        this.armFailures++;
        this.armFailedAt.set(pid, now);
        this.lastArmError = `pid ${pid}: ${(e as Error).message}`;
      }
    }
    // phases first for every backend waiting, then the lock and SPI probes
    // (rarely hit): fewer statements run before their backend has phases
    if (extras.length > 0) setImmediate(() => this.armExtras(extras));
  }

  private armExtras(extras: [ArmedBackend, Probe[]][]): void {
    for (const [armed, probes] of extras) {
      if (this.armed.get(armed.pid) !== armed) continue; // disarmed meanwhile
      try {
        armed.add(probes);
      } catch (e) {
        // its phases stay; lock waits and nested statements of this backend are missed
        this.armFailures++;
        this.lastArmError = `pid ${armed.pid} (lock/SPI probes): ${(e as Error).message}`;
      }
    }
  }

  /** --detail as the kernel allows it: without phase programs, statement spans only */
  private get detail(): Detail {
    return this.refused.phases !== null ? 'statement' : this.opts.detail;
  }

  private get insideOptions(): InsideOptions {
    return this.opts.inside ?? INSIDE_DEFAULTS;
  }

  private logInside(plan: InsidePlan): void {
    const on = FEATURES.filter((f) => plan.off[f] === null);
    const off = FEATURES.filter((f) => plan.off[f] !== null).map((f) => `${f} off: ${plan.off[f]}`);
    this.log(`  inside statements: ${on.length > 0 ? on.join(', ') : 'nothing'}${off.length > 0 ? `; ${off.join('; ')}` : ''}`);
  }

  private onTls(pid: number): void {
    if (this.tlsPids.size === 0) {
      this.log(`PostgreSQL backend pid ${pid} uses TLS: statements on TLS connections are not traced (their socket carries ciphertext); see the README's probe budget section`);
    }
    this.tlsPids.add(pid);
  }

  private backend(pid: number): BackendInfo {
    let b = this.backends.get(pid);
    if (!b) {
      b = backendIdentity(pid);
      this.backends.set(pid, b);
    }
    return b;
  }

  private onStatement(s: Statement): void {
    this.statements++;
    const pid = s.start.pid;
    if (this.detail !== 'statement') {
      const a = this.armed.get(pid);
      if (a) a.lastSampledMs = Date.now();
      else this.armQueue.set(pid, s.start.ppid);
      if (!s.timed) this.untimed++;
    }
    // the kernel finds the context by byte patterns; the lexer confirms it sits in a real comment
    const check = checkTraceContext(s.start);
    if (check === 'rejected') {
      this.rejectedContexts++;
      if (Math.random() >= this.rootSampleRate) return;
    }
    const backend = this.backend(pid);
    for (const listen of this.listeners) {
      try {
        listen(s, backend);
      } catch (e) {
        // a broken listener must not stop the spans; say so once
        if (!this.listenerFailed) this.log(`a statement listener failed (metrics or diagnose will miss statements): ${(e as Error).message}`);
        this.listenerFailed = true;
      }
    }
    const cluster = this.clusters.get(s.start.ppid);
    backend.inside = cluster?.inside && cluster.pm.major !== null ? { major: cluster.pm.major, waits: cluster.inside.off.waits === null } : null;
    const extra = this.opts.annotate?.(s, backend, cluster?.pm.port ?? null) ?? null;
    // a lock wait's blockers are being asked for: the spans wait for the answer, briefly
    const pending = s.inside.locks.flatMap((l) => (l.pending ? [l.pending] : []));
    if (extra instanceof Promise || pending.length > 0) {
      const blockers = pending.length > 0 ? Promise.race([Promise.all(pending), new Promise((r) => setTimeout(r, BLOCKER_WAIT_MS))]) : null;
      Promise.all([extra, blockers]).then(
        ([x]) => this.queueSpans(s, backend, cluster, check, x ?? null),
        () => this.queueSpans(s, backend, cluster, check, null),
      );
    } else this.queueSpans(s, backend, cluster, check, extra);
  }

  private queueSpans(s: Statement, backend: BackendInfo, cluster: Cluster | undefined, check: ContextCheck, extra: Attributes | null): void {
    // a full queue would drop the spans anyway: don't spend CPU building them
    if (!this.opts.queue.hasRoom(1 + s.phases.length)) {
      this.opts.queue.drop(1 + s.phases.length);
      return;
    }
    const resource = cluster?.resource ?? this.fallbackResource;
    try {
      this.opts.queue.add(buildSpans(s, resource, this.clock, backend, this.describer, check, extra, this.insideOptions));
    } catch (e) {
      // a statement the span builder cannot handle is lost, counted and said once; the next ones go on
      this.buildFailures++;
      if (this.buildFailures === 1) this.log(`could not build the spans of a statement (pid ${s.start.pid}): ${(e as Error).stack ?? e}`);
    }
  }

  kernelCounters(): Record<string, number> {
    const out: Record<string, number> = {};
    if (!this.obj) return out;
    const m = this.obj.map('counters');
    for (let i = 0; i < COUNTER_COUNT; i++) {
      let sum = 0;
      for (const v of m.lookupPerCpu(u32Key(i))) sum += Number(v.readBigUInt64LE(0));
      out[COUNTER_NAMES[i]] = sum;
    }
    return out;
  }

  status(): CollectorStatus {
    return {
      enabled: this.enabled,
      rootSampleRate: this.rootSampleRate,
      detail: this.detail,
      refused: { ...this.refused },
      programs: this.programs.map((p) => ({ name: p.name, loaded: p.loaded, verifiedInsns: p.verifiedInsns })),
      clusters: [...this.clusters.values()].map((c) => ({
        pid: c.pm.pid, dataDir: c.pm.dataDir, port: c.pm.port, major: c.pm.major,
        binary: c.pm.exeName, probeSet: c.probeSet, error: c.error, inside: c.inside?.off ?? null,
      })),
      binaries: [...this.binaries.values()].map((b) => ({ exe: b.exeName, probeSet: b.set.name, probes: b.set.note })),
      backends: { armed: this.armed.size, armings: this.armings, meanArmingMs: this.armings ? this.armingMs / this.armings : 0, armFailures: this.armFailures, lastArmError: this.lastArmError, tls: this.tlsPids.size },
      kernel: this.kernelCounters(),
      ringBuffer: this.reader ? { ...this.reader.stats } : { records: 0, bytes: 0, batches: 0, errors: 0, lastError: null },
      decode: { ...this.decodeStats },
      statements: this.statements,
      untimedStatements: this.untimed,
      rejectedContexts: this.rejectedContexts,
      openCycles: this.assembler.openCycles,
      orphanMarks: this.assembler.orphanMarks,
      blockerLookups: { asked: this.blockers.lookups, failed: this.blockers.failures },
      buildFailures: this.buildFailures,
      export: { ...this.opts.queue.stats },
    };
  }

  /** Detaches everything and flushes what was assembled. Idempotent. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.reader?.close();
    this.reader = null;
    for (const a of this.armed.values()) a.detach();
    this.armed.clear();
    for (const l of this.gate) l.detach();
    this.gate = [];
    this.binaries.clear();
    this.obj?.close();
    this.obj = null;
    this.assembler.flush();
    void this.blockers.close();
  }
}
