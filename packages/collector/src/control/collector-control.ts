// What the admin API, diagnose, /metrics and the web UI see and change of a
// running collector. They depend on this, not on the collector that wires
// the pipeline, so no arrow climbs back to the top.
import type { Attributes } from '@opentelemetry/api';
import type { RingBufferStats } from '@pgferret/bpf-loader';
import type { DecodeStats } from '../events/decode';
import type { ExportQueue } from '../export/queue';
import type { Feature } from '../inside/cluster-facts';
import type { OptionalFeature, SocketHook } from '../kernel/load';
import type { Detail } from '../probes/tables';
import type { Statement } from '../spans/assemble';
import type { BackendInfo } from '../spans/build';

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

export interface ArmingStatus {
  /** backends with phase probes now, and their pids */
  armed: number;
  armedPids: number[];
  /** of those, the ones whose later probes (lock waits, nested statements) are in place too */
  completePids: number[];
  /** backends with sampled statements the overhead budget keeps unarmed now */
  waiting: number;
  /** backends disarmed before they were gone or idle (the budget) */
  disarmings: number;
  /** detached backends whose phase probes the loader has not removed yet */
  removing: number;
  /** the last removal times, seconds from a backend's detach to its phase probes gone (the loader's detacher removes them one by one) */
  removalS: number[];
  /** backends armed so far, and the mean time attaching their probes took */
  armings: number;
  meanArmingMs: number;
  /** arming attempts that failed (see lastArmError) */
  armFailures: number;
  lastArmError: string | null;
  /** encrypted backends (TLS, GSSAPI) alive and followed at their TLS/GSSAPI read and write now */
  tls: number;
}

/** Encrypted backends: seen, and followed at be_tls_read/be_tls_write (be_gssapi_read/be_gssapi_write). */
export interface EncryptedStatus {
  /** backends seen negotiating TLS / GSSAPI encryption (since the start, gone ones included) */
  tls: number;
  gssenc: number;
  /** encrypted backends alive and followed now */
  followed: number;
  /** encrypted backends not followed (their binary's probes are not attached), and why the last one was not (or why a binary's could not be) */
  notFollowed: number;
  lastError: string | null;
}

/** The overhead budget (--max-overhead), as arming/budget.ts keeps it. */
export interface BudgetStatus {
  maxOverheadPct: number;
  /** probe cost / backend CPU over the last window (about 10 s), percent */
  recentPct: number;
  /** the same since the collector started */
  totalPct: number;
  backendCpuMs: number;
  probeCostMs: number;
  /** of probeCostMs, the CPU profile's clock ticks (PROFILE_TICK_NS each), and the divisor of --profile-hz the budget keeps it at (1: full rate) */
  profileCostMs: number;
  profileDivisor: number;
  probeHits: number;
  /** ns per hit used: trap + body (measured body when bpf_stats is on) */
  nsPerHit: number;
  bodyMeasured: boolean;
  creditMs: number;
  /** measured probe cost as a share of the armed backends' CPU */
  armedCostShare: number;
  /** how long the busy armed backends would keep their phase probes if disarmed now, seconds: the detacher's queue and their probes at its measured pace */
  removalS: number;
  /** links the loader's detacher has not removed yet, and its pace: the slowest recent removal per link it waited for, ms */
  removalQueue: number;
  removalPerLinkMs: number;
  /** credit held back for what the armed and the disarmed-but-not-removed backends still cost */
  reserveMs: number;
  /** backends disarmed because the credit ran out, armed again when it allowed, and armed at their fork */
  budgetDisarms: number;
  budgetArms: number;
  forkArms: number;
  /** new backends seen, and of those not armed at fork because the budget had no room */
  forks: number;
  forksHeldBack: number;
}

/** The CPU profile of sampled statements (--profile-hz). */
export interface ProfileStatus {
  /** samples per second of an armed backend's CPU time (0: off) */
  hz: number;
  /** why there is no profile though --profile-hz asks for one (the kernel refused its program, --detail statement), else null */
  refused: string | null;
  /** backends with a CPU clock now, clocks attached so far, attach failures and the last one's error */
  clocks: number;
  armings: number;
  failures: number;
  lastError: string | null;
  /** samples not kept: over the per-backend bound of open request cycles */
  samplesDropped: number;
}

export interface CollectorStatus {
  enabled: boolean;
  rootSampleRate: number;
  detail: Detail;
  /** optional features whose BPF programs the kernel refused: null when loaded, else why */
  refused: Record<OptionalFeature, string | null>;
  /** every program of the object: loaded or left out, and the verifier instructions it took */
  programs: { name: string; loaded: boolean; verifiedInsns: number }[];
  /** the uprobes are uprobe_multi links (Linux >= 6.6: one per program and backend, removed in one grace period), else one perf-event uprobe per site */
  uprobeMulti: boolean;
  /** how the gate follows sockets: fexit on __sys_recvfrom/__sys_sendto, else the two syscalls' tracepoints, else the host-wide sys_exit tracepoint (fallback: why) */
  socketHook: { hook: SocketHook; fallback: string | null };
  clusters: ClusterStatus[];
  /** executables of attached clusters and the phase probes their armed backends get */
  binaries: { exe: string; probeSet: string; probes: string }[];
  backends: ArmingStatus;
  /** encrypted backends: seen, and followed at their TLS/GSSAPI read and write */
  encrypted: EncryptedStatus;
  profile: ProfileStatus;
  kernel: Record<string, number>;
  /** backends with a sampled request cycle open (the kernel's count: while it is 0 the scheduler hook looks nobody up) */
  sampledBackends: number;
  ringBuffer: RingBufferStats;
  decode: DecodeStats;
  statements: number;
  /** sampled statements that ran before their backend had phase probes */
  untimedStatements: number;
  /** sampled statements with phases, without them by reason (pgferret.detail), and the share with them (null before any) */
  phases: { timed: number; budget: number; late: number; off: number; share: number | null };
  /** the overhead budget (--max-overhead): what the probes cost, against what; null with --detail statement */
  budget: BudgetStatus | null;
  /** traceparents the kernel found that the lexer places in no real comment (counted as malformed) */
  rejectedContexts: number;
  openCycles: number;
  orphanMarks: number;
  /** sampled executions of named prepared statements whose Parse the collector did not see (prepared before it attached): not traced */
  unknownPrepared: number;
  /** statements whose spans could not be built (a bug: the log has the first one's error) */
  buildFailures: number;
  /** lock waits whose blockers were asked for over --postgres-url, and how many of those questions failed */
  blockerLookups: { asked: number; failed: number };
  export: ExportQueue['stats'];
}

/** A started collector, as the admin API and diagnose drive it. */
export interface CollectorControl {
  status(): CollectorStatus;
  setEnabled(on: boolean): void;
  setRootSampleRate(rate: number): void;
  /** Adds a statement listener while running; returns its removal. */
  addStatementListener(l: StatementListener): () => void;
}
