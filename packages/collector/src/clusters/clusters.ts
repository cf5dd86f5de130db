// Watches the running clusters: finds the postmasters the filter selects,
// reads each one's binary once (its probe set and what may be read inside
// its statements), has the kernel follow its backends (the `postmasters`
// map; backends already running are adopted into `backends`) and forgets
// clusters that stopped.
import type { BpfObject } from '@pgferret/bpf-loader';
import { TRAP_NS_PER_HIT } from '../arming/budget';
import type { ClusterStatus } from '../control/collector-control';
import { readElf, type ElfInfo } from '../discover/elf';
import { selects, type ClusterFilter } from '../discover/filter';
import { MatchReport } from '../discover/match-report';
import { childrenOf, findPostmasters, type Postmaster } from '../discover/postmasters';
import { BACKEND_STATE, Proto } from '../events/layout';
import { FEATURES, planInside, type InsidePlan } from '../inside/cluster-facts';
import { Maps } from '../kernel/bpf-names';
import type { OptionalFeature } from '../kernel/load';
import { u32Key } from '../kernel/map-keys';
import { waitEventsMissingFromTable } from '../pg/wait-event-check';
import { encryptedProbes } from '../probes/encrypted';
import { chooseProbeSet, MIN_MAJOR, nestedProbes, slowEntries, type Detail, type ProbeSet } from '../probes/tables';
import type { Resource } from '@opentelemetry/resources';
import type { Resources } from './resources';

export interface Cluster {
  pm: Postmaster;
  resource: Resource;
  error: string | null;
  probeSet: string | null;
  inside: InsidePlan | null;
}

export interface Binary {
  /** the executable's name on disk when its first postmaster started (phase probes go through each backend's /proc entry) */
  exeName: string;
  set: ProbeSet;
  elf: ElfInfo;
}

export interface ClustersOptions {
  obj: BpfObject;
  filter?: ClusterFilter;
  /** --detail as the kernel allows it */
  detail: Detail;
  refused: Record<OptionalFeature, string | null>;
  resources: Resources;
  log: (msg: string) => void;
  /** told when a binary is read (before any backend of its cluster is followed) and when its last cluster stopped */
  binaries?: { read(id: string, pm: Postmaster, elf: ElfInfo): void; gone(id: string): void };
}

export class Clusters {
  private clusters = new Map<number, Cluster>();
  /** every postmaster the last rescan found (selected or not): their backends are not read again */
  private lastFound: Postmaster[] = [];
  private binaries = new Map<string, Binary>();
  private failedBinaries = new Map<string, string>();
  private readonly matchReport: MatchReport;

  constructor(private readonly o: ClustersOptions) {
    this.matchReport = new MatchReport(o.filter, o.log);
  }

  /** The cluster of a postmaster pid (a backend's ppid). */
  get(pmPid: number): Cluster | undefined {
    return this.clusters.get(pmPid);
  }

  /** The binary a cluster runs, once read. */
  binaryOf(c: Cluster): Binary | undefined {
    return this.binaries.get(c.pm.binaryId);
  }

  /** Finds clusters that appeared or went away. */
  rescan(): void {
    const seen = new Set<number>();
    const all = findPostmasters(this.lastFound);
    this.lastFound = all;
    for (const pm of all) {
      if (!selects(this.o.filter, pm)) continue;
      seen.add(pm.pid);
      if (!this.clusters.has(pm.pid)) this.attach(pm);
    }
    for (const [pid, c] of this.clusters) if (!seen.has(pid)) this.detach(c);
    this.matchReport.update(all, seen.size);
  }

  private attach(pm: Postmaster): void {
    const cluster: Cluster = { pm, resource: this.o.resources.of(pm), error: null, probeSet: null, inside: null };
    this.clusters.set(pm.pid, cluster);
    try {
      const bin = this.binaryFor(pm);
      cluster.probeSet = bin.set.name;
      cluster.inside = planInside({ pid: pm.pid, major: pm.major, exePath: `/proc/${pm.pid}/exe` }, bin.elf, bin.set, this.o.detail, this.o.refused);
      // new backends are followed from their fork on; the ones already running are adopted
      this.o.obj.map(Maps.postmasters).update(u32Key(pm.pid), cluster.inside.value);
      const adopted = this.adoptBackends(pm.pid);
      const what = this.o.detail === 'statement' ? 'statement spans only' : `phases with ${bin.set.name} probes on backends that carry sampled statements`;
      this.o.log(`attached to PostgreSQL ${pm.major ?? '?'} (pid ${pm.pid}, port ${pm.port ?? '?'}, ${pm.dataDir}): following ${adopted} running backends at their sockets; ${what}`);
      if (this.o.detail === 'full') this.logInside(cluster.inside);
    } catch (e) {
      cluster.error = (e as Error).message;
      this.o.log(`cannot trace PostgreSQL pid ${pm.pid} (${pm.dataDir}): ${cluster.error}`);
    }
  }

  private detach(c: Cluster): void {
    this.clusters.delete(c.pm.pid);
    this.o.obj.map(Maps.postmasters).delete(u32Key(c.pm.pid));
    this.o.log(`PostgreSQL pid ${c.pm.pid} (${c.pm.dataDir}) stopped`);
    if (![...this.clusters.values()].some((o) => o.pm.binaryId === c.pm.binaryId)) {
      if (this.binaries.delete(c.pm.binaryId)) this.o.binaries?.gone(c.pm.binaryId);
      this.failedBinaries.delete(c.pm.binaryId);
    }
  }

  /** Puts the running backends of a postmaster in the kernel's `backends` map. */
  private adoptBackends(pmPid: number): number {
    const map = this.o.obj.map(Maps.backends);
    const v = Buffer.alloc(BACKEND_STATE.size);
    v.writeUInt32LE(pmPid, BACKEND_STATE.ppid);
    v[BACKEND_STATE.proto] = Proto.UNSYNCED;
    v[BACKEND_STATE.out_synced] = 1;
    v[BACKEND_STATE.adopted] = 1;
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

  private binaryFor(pm: Postmaster): Binary {
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
      const slow = slowEntries([...set.probes, ...set.locks, ...nestedProbes(elf.functions), ...encryptedProbes(elf)], elf);
      if (slow.length > 0) {
        this.o.log(`${pm.exeName}: ${slow.join(', ')} ${slow.length > 1 ? 'start' : 'starts'} with an instruction the kernel single-steps at every probe hit (~5 µs, against ~0.5 µs for a push or nop): statements pay that per hit, and --max-overhead counts ${TRAP_NS_PER_HIT / 1000} µs a hit`);
      }
      const bin = { exeName: pm.exeName, set, elf };
      const newer = pm.major !== null ? waitEventsMissingFromTable(pm.major, pm.exePath, elf) : [];
      if (newer.length > 0) this.o.log(`${pm.exeName} (PostgreSQL ${pm.major}) has wait events pgferret's table for ${pm.major} lacks (${newer.join(', ')}; a newer minor release): spans name them by class and number; a newer pgferret names them`);
      this.binaries.set(pm.binaryId, bin);
      this.o.binaries?.read(pm.binaryId, pm, elf);
      return bin;
    } catch (e) {
      this.failedBinaries.set(pm.binaryId, (e as Error).message);
      throw e;
    }
  }

  private logInside(plan: InsidePlan): void {
    const on = FEATURES.filter((f) => plan.off[f] === null);
    const off = FEATURES.filter((f) => plan.off[f] !== null).map((f) => `${f} off: ${plan.off[f]}`);
    this.o.log(`  inside statements: ${on.length > 0 ? on.join(', ') : 'nothing'}${off.length > 0 ? `; ${off.join('; ')}` : ''}`);
  }

  status(): ClusterStatus[] {
    return [...this.clusters.values()].map((c) => ({
      pid: c.pm.pid, dataDir: c.pm.dataDir, port: c.pm.port, major: c.pm.major,
      binary: c.pm.exeName, probeSet: c.probeSet, error: c.error, inside: c.inside?.off ?? null,
    }));
  }

  binariesStatus(): { exe: string; probeSet: string; probes: string }[] {
    return [...this.binaries.values()].map((b) => ({ exe: b.exeName, probeSet: b.set.name, probes: b.set.note }));
  }

  /** The collector stopped: nothing is attached any more. */
  clear(): void {
    this.binaries.clear();
  }
}
