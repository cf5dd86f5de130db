// Typed view of the C addon (src/addon/*.c). Handles are opaque externals;
// links and readers are small integer ids inside their object.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfError } from './errors';

export type ObjectHandle = { readonly __brand: 'BpfObjectHandle' };

export interface NativeMapInfo { fd: number; type: number; keySize: number; valueSize: number; maxEntries: number; perCpu: boolean; ringBuffer: boolean }
export interface NativeProgram { name: string; type: number; section: string }
export interface NativeProgramInfo { name: string; loaded: boolean; verifiedInsns?: number; xlatedBytes?: number; jitedBytes?: number; runTimeNs?: bigint; runCount?: bigint }
export interface NativeLogEntry { level: number; message: string }

export interface NativeAddon {
  takeLog(): NativeLogEntry[];
  possibleCpus(): number;
  open(source: string | Buffer, name?: string): ObjectHandle;
  close(h: ObjectHandle): void;
  load(h: ObjectHandle): void;
  programs(h: ObjectHandle): NativeProgram[];
  constantSize(h: ObjectHandle, name: string): number;
  setConstant(h: ObjectHandle, name: string, value: Buffer): void;
  programInfo(h: ObjectHandle): NativeProgramInfo[];
  runStats(h: ObjectHandle, programs: readonly string[]): [number, number];
  setAutoload(h: ObjectHandle, program: string, on: boolean): void;
  testRun(h: ObjectHandle, program: string, ctx: Buffer | null, repeat: number, cpu: number): number;
  attachUprobe(h: ObjectHandle, program: string, binaryPath: string, symbol: string | null, offset: number, pid: number, retprobe: boolean): number;
  setUprobeMulti(h: ObjectHandle, program: string): void;
  attachUprobeMulti(h: ObjectHandle, program: string, binaryPath: string, offsets: number[], pid: number, retprobe: boolean): number;
  attachUsdt(h: ObjectHandle, program: string, binaryPath: string, provider: string, name: string, pid: number, cookie: bigint): number;
  attachTracepoint(h: ObjectHandle, program: string, category: string, name: string): number;
  attachTrace(h: ObjectHandle, program: string): number;
  attachPerfEvent(h: ObjectHandle, program: string, pid: number, hz: number, enabled: boolean): number;
  perfEventEnable(h: ObjectHandle, link: number, on: boolean): boolean;
  perfEventFrequency(h: ObjectHandle, link: number, hz: number): boolean;
  detach(h: ObjectHandle, link: number): boolean;
  release(h: ObjectHandle, link: number): boolean;
  linkGoneNs(h: ObjectHandle, link: number): bigint;
  detacherStats(h: ObjectHandle): { pending: number; destroyed: number; destroyNs: bigint };
  maps(h: ObjectHandle): string[];
  mapInfo(h: ObjectHandle, name: string): NativeMapInfo | undefined;
  mapLookup(h: ObjectHandle, fd: number, key: Buffer, valueBytes: number): Buffer | undefined;
  mapUpdate(h: ObjectHandle, fd: number, key: Buffer, value: Buffer, flags: number): void;
  mapDelete(h: ObjectHandle, fd: number, key: Buffer): boolean;
  mapNextKey(h: ObjectHandle, fd: number, prev: Buffer | null, keySize: number): Buffer | undefined;
  /** onBatch's errno (0: none) and op: the first failure of that wake-up (the batch may then be empty) */
  ringBuffer(h: ObjectHandle, map: string, onBatch: (batch: Buffer, count: number, payloadBytes: number, errno: number, op: string, timer: boolean) => void, maxBatchBytes: number, intervalMs: number, minBatchRecords: number, everyTimer: boolean): number;
  readerClose(h: ObjectHandle, reader: number): void;
  readerRef(h: ObjectHandle, reader: number, keepAlive: boolean): void;
  readerDrain(h: ObjectHandle, reader: number): void;
  readerBackoff(h: ObjectHandle, reader: number, maxMs: number): void;
  probeProgramType(type: number): number;
  probeMapType(type: number): number;
  probeHelper(programType: number, helper: number): number;
  probeUprobeMulti(): number;
  dropCapabilities(keep: number[]): { threads: number[]; unreachable: number[] };
  uprobeNeedsSysAdmin(): boolean;
}

export const addonPath = path.join(__dirname, '..', 'build', 'Release', 'bpf_loader.node');

let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon) return addon;
  if (!fs.existsSync(addonPath)) {
    throw new BpfError(
      'NATIVE_NOT_BUILT',
      `the bpf-loader addon is not built (${addonPath} is missing): run \`npm run -w @pgferret/bpf-loader build:native\` ` +
        '(needs libbpf-dev, libelf-dev, zlib1g-dev and a C compiler)',
    );
  }
  try {
    addon = require(addonPath) as NativeAddon;
  } catch (e) {
    throw new BpfError(
      'NATIVE_LOAD_FAILED',
      `could not load ${addonPath}: ${(e as Error).message}. Rebuild it for this Node version with ` +
        '`npm run -w @pgferret/bpf-loader build:native`; libbpf1 and libelf1 must be installed',
    );
  }
  return addon;
}
