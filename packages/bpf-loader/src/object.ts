import * as fs from 'node:fs';
import { BpfError } from './errors';
import { nativeCall } from './explain';
import { Link, PerfLink, type BpfLink, type PerfEventLink } from './link';
import { BpfMap } from './map';
import { native, type ObjectHandle } from './native';
import { Reader, type BatchHandler, type RingBufferReader } from './ringbuf';

const DEFAULT_MAX_BATCH_BYTES = 256 * 1024;
/** a timed drain that finds fewer records backs the timer off */
const DEFAULT_MIN_BATCH_RECORDS = 64;

export interface UprobeOptions {
  program: string;
  /** The file the target runs; for a running process prefer /proc/<pid>/exe (survives package upgrades). */
  binaryPath: string;
  /** Function to probe (looked up in .symtab/.dynsym). Combined with `offset`, probes symbol+offset. */
  symbol?: string;
  /** File offset of the instruction to probe (not a virtual address) when no symbol is given. */
  offset?: number;
  /** Only this process; all processes running the binary when omitted. */
  pid?: number;
  retprobe?: boolean;
}

/** One link for a program at several file offsets of a binary (a uprobe_multi link: see BpfObject.setUprobeMulti). */
export interface UprobeMultiOptions {
  program: string;
  binaryPath: string;
  /** File offsets of the instructions to probe (not virtual addresses). */
  offsets: number[];
  /** Only this process; all processes running the binary when omitted. */
  pid?: number;
  retprobe?: boolean;
}

export interface UsdtOptions {
  program: string;
  binaryPath: string;
  provider: string;
  name: string;
  pid?: number;
  /** Read in BPF with bpf_usdt_cookie(ctx). */
  cookie?: bigint;
}

export interface TracepointOptions {
  /** SEC("tracepoint/<category>/<name>") programs (need tracefs) or SEC("raw_tp/<name>") ones. */
  program: string;
  category: string;
  name: string;
}

export interface PerfEventOptions {
  /** a SEC("perf_event") program */
  program: string;
  /** the process sampled (its CPU time, on any CPU) */
  pid: number;
  /** samples per second of the process's CPU time (software cpu-clock) */
  hz: number;
  /** false: created off (it costs its process nothing) until setEnabled(true); default true */
  enabled?: boolean;
}

function checkString(v: unknown, what: string): asserts v is string {
  if (typeof v !== 'string' || v === '') throw new BpfError('BAD_ARGUMENT', `${what} must be a non-empty string, got ${JSON.stringify(v)}`);
}

function checkPid(pid: unknown): number {
  if (pid === undefined) return -1;
  if (typeof pid !== 'number' || !Number.isInteger(pid) || pid <= 0)
    throw new BpfError('BAD_ARGUMENT', `pid must be a positive integer, got ${JSON.stringify(pid)}`);
  return pid;
}

function checkBinary(binaryPath: string): void {
  // stat, not existsSync: access(2) checks with the real uid and without the
  // capabilities of a process running on file capabilities (/proc/<pid>/exe of
  // another user then looks missing)
  if (binaryPath.includes('/') && fs.statSync(binaryPath, { throwIfNoEntry: false }) === undefined)
    throw new BpfError(
      'BINARY_NOT_FOUND',
      `binary ${binaryPath} was not found: give the path of the executable or library the target runs (for a running process, /proc/<pid>/exe)`,
    );
}

/** Little-endian encoding of an integer constant into `size` bytes. */
function encodeConstant(name: string, value: number | bigint, size: number): Buffer {
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new BpfError('BAD_ARGUMENT', `constant '${name}' must be an integer, got ${value}`);
  if (![1, 2, 4, 8].includes(size))
    throw new BpfError('BAD_ARGUMENT', `constant '${name}' is ${size} bytes: pass a Buffer of that size instead of a number`);
  const v = BigInt(value);
  const bits = BigInt(size * 8);
  if (v < -(1n << (bits - 1n)) || v >= 1n << bits)
    throw new BpfError('BAD_ARGUMENT', `constant '${name}' is ${size} bytes and cannot hold ${value}`);
  const buf = Buffer.alloc(8);
  buf.writeBigUInt64LE(BigInt.asUintN(64, v));
  return buf.subarray(0, size);
}

/** What the kernel says of one program after load(). */
export interface ProgramInfo {
  name: string;
  /** false for a program left out with setAutoload(name, false) */
  loaded: boolean;
  /** instructions the verifier processed (its limit is 1,000,000 per program); 0 on kernels before 5.16 */
  verifiedInsns: number;
  xlatedBytes: number;
  jitedBytes: number;
  /** cumulative run time and runs: counted only while kernel.bpf_stats_enabled = 1 */
  runTimeNs: bigint;
  runCount: bigint;
}

export class BpfObject {
  private readonly handle: ObjectHandle;
  private closed = false;
  private loaded = false;
  /** programs loaded for uprobe_multi links */
  private readonly multi = new Set<string>();
  private readonly isClosed = () => this.closed;

  private constructor(handle: ObjectHandle, readonly source: string) {
    this.handle = handle;
  }

  /** Opens (does not load) a compiled BPF ELF object from a file or a Buffer. */
  static open(source: string | Buffer, opts: { name?: string } = {}): BpfObject {
    if (typeof source !== 'string' && !Buffer.isBuffer(source))
      throw new BpfError('BAD_ARGUMENT', 'BpfObject.open() takes a file path or a Buffer with the ELF object');
    const label = typeof source === 'string' ? source : `<buffer ${opts.name ?? ''}>`;
    if (typeof source === 'string' && !fs.existsSync(source))
      throw new BpfError('OBJECT_NOT_FOUND', `BPF object file ${source} does not exist: build it first (buildBpfObject) or fix the path`);
    const handle = nativeCall({ op: 'open', source: label }, () => native().open(source, opts.name));
    return new BpfObject(handle, label);
  }

  /** Sets a `const volatile` global (in .rodata) before load(). Numbers are written little-endian in the variable's size. */
  setConstant(name: string, value: Buffer | number | bigint): void {
    this.ensureOpen();
    checkString(name, 'constant name');
    if (this.loaded) throw new BpfError('ALREADY_LOADED', `constant '${name}' must be set before load(): .rodata is frozen once loaded`);
    const size = native().constantSize(this.handle, name);
    if (size < 0)
      throw new BpfError(
        'CONSTANT_NOT_FOUND',
        size === -2
          ? `the object has no .rodata: declare '${name}' in the BPF C code as \`const volatile <type> ${name} = <default>;\``
          : `no \`const volatile\` global named '${name}' in .rodata: declare it in the BPF C code and make sure it is used (unused ones are dropped)`,
      );
    let buf: Buffer;
    if (Buffer.isBuffer(value)) {
      if (value.length !== size) throw new BpfError('BAD_ARGUMENT', `constant '${name}' is ${size} bytes, the Buffer has ${value.length}`);
      buf = value;
    } else if (typeof value === 'number' || typeof value === 'bigint') {
      buf = encodeConstant(name, value, size);
    } else {
      throw new BpfError('BAD_ARGUMENT', `constant '${name}' must be a Buffer, number or bigint`);
    }
    nativeCall({ op: 'constant', what: `setting constant '${name}'` }, () => native().setConstant(this.handle, name, buf));
  }

  /** Verifies and loads every program and creates the maps. */
  load(): void {
    this.ensureOpen();
    if (this.loaded) throw new BpfError('ALREADY_LOADED', `${this.source} is already loaded`);
    nativeCall({ op: 'load', what: `loading ${this.source}` }, () => native().load(this.handle));
    this.loaded = true;
  }

  programs(): string[] {
    this.ensureOpen();
    return native().programs(this.handle).map((p) => p.name);
  }

  /** Leaves a program out of load() (`on` false), e.g. a feature the kernel refused; before load() only. */
  setAutoload(program: string, on: boolean): void {
    this.ensureOpen();
    checkString(program, 'program');
    nativeCall({ op: 'constant', what: `choosing whether '${program}' loads`, program, programs: () => this.programs() }, () =>
      native().setAutoload(this.handle, program, on),
    );
  }

  /**
   * Loads a uprobe/uretprobe program for uprobe_multi links (Linux >= 6.6,
   * hasUprobeMulti()), before load(): it is then attached with
   * attachUprobeMulti only. A link puts it at many offsets, and its removal
   * waits for one RCU Tasks Trace grace period for all of them, under no
   * global lock; a perf-event uprobe waits for five per offset (three of them
   * Tasks Trace), four under the kernel's event_mutex.
   */
  setUprobeMulti(program: string): void {
    this.ensureOpen();
    checkString(program, 'program');
    nativeCall({ op: 'constant', what: `loading '${program}' for uprobe_multi links`, program, programs: () => this.programs() }, () =>
      native().setUprobeMulti(this.handle, program),
    );
    this.multi.add(program);
  }

  /** Whether the program was loaded for uprobe_multi links (setUprobeMulti). */
  usesUprobeMulti(program: string): boolean {
    return this.multi.has(program);
  }

  /** Per program: verified instructions, sizes, run statistics (after load()). */
  programInfo(): ProgramInfo[] {
    this.ensureLoaded();
    return native()
      .programInfo(this.handle)
      .map((p) => ({
        name: p.name,
        loaded: p.loaded,
        verifiedInsns: p.verifiedInsns ?? 0,
        xlatedBytes: p.xlatedBytes ?? 0,
        jitedBytes: p.jitedBytes ?? 0,
        runTimeNs: p.runTimeNs ?? 0n,
        runCount: p.runCount ?? 0n,
      }));
  }

  /**
   * The programs' run time (ns) and runs, summed: what bpf_stats counts while
   * kernel.bpf_stats_enabled is 1 (zeros otherwise). One kernel call per
   * program and no per-program objects: cheap enough to read several times a
   * second (programInfo() is for reports). A program not loaded counts 0.
   */
  runStats(programs: readonly string[]): { runTimeNs: number; runCount: number } {
    this.ensureLoaded();
    const [runTimeNs, runCount] = native().runStats(this.handle, programs);
    return { runTimeNs, runCount };
  }

  /** Map names, including internal ones such as "<obj>.rodata". */
  maps(): string[] {
    this.ensureOpen();
    return native().maps(this.handle);
  }

  attachUprobe(o: UprobeOptions): BpfLink {
    this.ensureLoaded();
    checkString(o?.program, 'program');
    checkString(o.binaryPath, 'binaryPath');
    if (o.symbol !== undefined) checkString(o.symbol, 'symbol');
    const offset = o.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new BpfError('BAD_ARGUMENT', `offset must be a non-negative integer, got ${o.offset}`);
    if (o.symbol === undefined && o.offset === undefined)
      throw new BpfError('BAD_ARGUMENT', 'attachUprobe needs a symbol or a file offset');
    const pid = checkPid(o.pid);
    checkBinary(o.binaryPath);
    const kind = o.retprobe ? 'uretprobe' : 'uprobe';
    const target = o.symbol ? `${o.symbol}${offset ? '+0x' + offset.toString(16) : ''}` : `0x${offset.toString(16)}`;
    const description = `${kind} ${o.binaryPath}:${target}${pid > 0 ? ` pid=${pid}` : ''} -> ${o.program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'uprobe', what: `attaching ${description}`, program: o.program, programs: () => this.programs(), binaryPath: o.binaryPath, symbol: o.symbol, pid },
      () => native().attachUprobe(this.handle, o.program, o.binaryPath, o.symbol ?? null, offset, pid, !!o.retprobe),
    );
    return new Link(this.handle, id, description, this.isClosed);
  }

  /** One link: the program (loaded after setUprobeMulti) at every offset, in `pid` only or in every process running the binary. */
  attachUprobeMulti(o: UprobeMultiOptions): BpfLink {
    this.ensureLoaded();
    checkString(o?.program, 'program');
    checkString(o.binaryPath, 'binaryPath');
    if (!Array.isArray(o.offsets) || o.offsets.length === 0 || !o.offsets.every((x) => Number.isSafeInteger(x) && x >= 0))
      throw new BpfError('BAD_ARGUMENT', `offsets must be a non-empty array of non-negative integers, got ${JSON.stringify(o.offsets)}`);
    const pid = checkPid(o.pid);
    checkBinary(o.binaryPath);
    const kind = o.retprobe ? 'uretprobe_multi' : 'uprobe_multi';
    const description = `${kind} ${o.binaryPath}:${o.offsets.map((x) => `0x${x.toString(16)}`).join(',')}${pid > 0 ? ` pid=${pid}` : ''} -> ${o.program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'uprobe', what: `attaching ${description}`, program: o.program, programs: () => this.programs(), binaryPath: o.binaryPath, pid },
      () => native().attachUprobeMulti(this.handle, o.program, o.binaryPath, o.offsets, pid, !!o.retprobe),
    );
    return new Link(this.handle, id, description, this.isClosed);
  }

  attachUsdt(o: UsdtOptions): BpfLink {
    this.ensureLoaded();
    checkString(o?.program, 'program');
    checkString(o.binaryPath, 'binaryPath');
    checkString(o.provider, 'provider');
    checkString(o.name, 'name');
    if (o.cookie !== undefined && typeof o.cookie !== 'bigint') throw new BpfError('BAD_ARGUMENT', 'cookie must be a bigint');
    const pid = checkPid(o.pid);
    checkBinary(o.binaryPath);
    const usdt = `${o.provider}:${o.name}`;
    const description = `usdt ${o.binaryPath}:${usdt}${pid > 0 ? ` pid=${pid}` : ''} -> ${o.program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'usdt', what: `attaching ${description}`, program: o.program, programs: () => this.programs(), binaryPath: o.binaryPath, usdt, pid },
      () => native().attachUsdt(this.handle, o.program, o.binaryPath, o.provider, o.name, pid, o.cookie ?? 0n),
    );
    return new Link(this.handle, id, description, this.isClosed);
  }

  attachTracepoint(o: TracepointOptions): BpfLink {
    this.ensureLoaded();
    checkString(o?.program, 'program');
    checkString(o.category, 'category');
    checkString(o.name, 'name');
    const description = `tracepoint ${o.category}:${o.name} -> ${o.program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'tracepoint', what: `attaching ${description}`, program: o.program, programs: () => this.programs() },
      () => native().attachTracepoint(this.handle, o.program, o.category, o.name),
    );
    return new Link(this.handle, id, description, this.isClosed);
  }

  /** Attaches a SEC("fentry/<function>") or SEC("fexit/<function>") program to the kernel function its section names. */
  attachTrace(program: string): BpfLink {
    this.ensureLoaded();
    checkString(program, 'program');
    const description = `trampoline -> ${program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'trace', what: `attaching ${description}`, program, programs: () => this.programs() },
      () => native().attachTrace(this.handle, program),
    );
    return new Link(this.handle, id, description, this.isClosed);
  }

  /** Samples one process on the software CPU clock with a perf_event program. */
  attachPerfEvent(o: PerfEventOptions): PerfEventLink {
    this.ensureLoaded();
    checkString(o?.program, 'program');
    const pid = checkPid(o.pid);
    if (pid < 0) throw new BpfError('BAD_ARGUMENT', 'attachPerfEvent needs a pid');
    if (!Number.isInteger(o.hz) || o.hz <= 0 || o.hz > 100000) throw new BpfError('BAD_ARGUMENT', `hz must be an integer from 1 to 100000, got ${JSON.stringify(o.hz)}`);
    const description = `perf_event cpu-clock ${o.hz} Hz pid=${pid} -> ${o.program}`;
    const id = nativeCall(
      { op: 'attach', kind: 'perf_event', what: `attaching ${description}`, program: o.program, programs: () => this.programs(), pid },
      () => native().attachPerfEvent(this.handle, o.program, pid, o.hz, o.enabled !== false),
    );
    return new PerfLink(this.handle, id, description, this.isClosed);
  }

  map(name: string): BpfMap {
    this.ensureLoaded();
    checkString(name, 'map name');
    const info = native().mapInfo(this.handle, name);
    if (!info) throw new BpfError('MAP_NOT_FOUND', `no map named '${name}' in ${this.source}; it has: ${this.maps().join(', ') || '(none)'}`);
    return new BpfMap(this.handle, name, info);
  }

  /**
   * Reads a BPF_MAP_TYPE_RINGBUF map: `onBatch` runs once per wake-up with
   * every record available then (see RingBufferReader for the batch format),
   * at most about `maxBatchBytes` (default 256 KiB) per call; the rest comes
   * in the next call. With `drainEveryMs`, it also reads every that many ms
   * (backing off, doubling up to 10× that or what setBackoff says, while
   * drains find fewer than `minBatchRecords` records, default 64), whether or
   * not a record asked for a wake-up: producers can then submit with
   * BPF_RB_NO_WAKEUP and keep only urgent records waking the reader.
   * The reader keeps the process alive until close() or unref().
   */
  ringBuffer(mapName: string, onBatch: BatchHandler, opts: { maxBatchBytes?: number; drainEveryMs?: number; minBatchRecords?: number; onTimer?: () => void } = {}): RingBufferReader {
    const map = this.map(mapName);
    if (!map.ringBuffer)
      throw new BpfError('BAD_ARGUMENT', `map '${mapName}' is not a ring buffer (type ${map.type}): declare it with __uint(type, BPF_MAP_TYPE_RINGBUF)`);
    if (typeof onBatch !== 'function') throw new BpfError('BAD_ARGUMENT', 'onBatch must be a function');
    const max = opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
    if (!Number.isSafeInteger(max) || max < 64 || max > 2 ** 31)
      throw new BpfError('BAD_ARGUMENT', `maxBatchBytes must be an integer between 64 and 2^31, got ${opts.maxBatchBytes}`);
    const every = opts.drainEveryMs ?? 0;
    if (!Number.isSafeInteger(every) || every < 0 || every > 60_000)
      throw new BpfError('BAD_ARGUMENT', `drainEveryMs must be an integer number of milliseconds between 0 (off) and 60000, got ${opts.drainEveryMs}`);
    const minBatch = opts.minBatchRecords ?? DEFAULT_MIN_BATCH_RECORDS;
    if (!Number.isSafeInteger(minBatch) || minBatch < 1 || minBatch > 1_000_000)
      throw new BpfError('BAD_ARGUMENT', `minBatchRecords must be an integer between 1 and 1000000, got ${opts.minBatchRecords}`);
    if (opts.onTimer !== undefined && (typeof opts.onTimer !== 'function' || every === 0))
      throw new BpfError('BAD_ARGUMENT', 'onTimer must be a function, and needs drainEveryMs (a drain timer to follow)');
    const reader = new Reader(this.handle, this.isClosed);
    nativeCall({ op: 'ringBuffer', what: `reading ring buffer '${mapName}'` }, () => reader.start(mapName, onBatch, max, every, minBatch, opts.onTimer));
    return reader;
  }

  /** Runs a program once through BPF_PROG_TEST_RUN (raw_tp, syscall, xdp…); returns its return value. */
  testRun(program: string, opts: { ctx?: Buffer; repeat?: number; cpu?: number } = {}): number {
    this.ensureLoaded();
    checkString(program, 'program');
    return nativeCall({ op: 'testRun', program, programs: () => this.programs() }, () =>
      native().testRun(this.handle, program, opts.ctx ?? null, opts.repeat ?? 0, opts.cpu ?? -1),
    );
  }

  /**
   * The background detacher (BpfLink.release): links released and not yet
   * destroyed, links it destroyed, and the time it spent destroying them (a
   * uprobe's removal waits for the kernel: ~0.1 s, longer under CPU contention).
   */
  detacher(): { pending: number; destroyed: number; destroyNs: bigint } {
    this.ensureOpen();
    return native().detacherStats(this.handle);
  }

  /** Detaches every link, stops every reader, frees the object. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    native().close(this.handle);
  }

  get isLoaded(): boolean {
    return this.loaded && !this.closed;
  }

  private ensureOpen(): void {
    if (this.closed) throw new BpfError('CLOSED', `${this.source} is closed: open and load it again`);
  }

  private ensureLoaded(): void {
    this.ensureOpen();
    if (!this.loaded) throw new BpfError('NOT_LOADED', `${this.source} is not loaded yet: call load() first`);
  }
}
