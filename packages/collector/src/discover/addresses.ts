// Where a symbol of the postgres executable is in a running process. The
// binaries are position-independent: the kernel maps the file at a random
// base, so an address is the base (the start of the mapping of file offset
// 0) plus the symbol's link-time value minus the first PT_LOAD's vaddr.
// Backends are forked from their postmaster, so one address serves them all.
import * as fs from 'node:fs';
import type { ElfInfo } from './elf';

/** The runtime address of a link-time `value` in process `pid`, whose executable is the ELF `elf`. */
export function symbolAddress(pid: number, elf: ElfInfo, value: number): bigint {
  const exe = fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  const first = elf.loads.reduce((m, l) => Math.min(m, l.vaddr - l.offset), Infinity);
  for (const line of fs.readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n')) {
    // start-end perms offset dev inode path
    const m = /^([0-9a-f]+)-[0-9a-f]+ \S+ ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[3] !== exe || parseInt(m[2], 16) !== 0) continue;
    return BigInt(`0x${m[1]}`) + BigInt(value) - BigInt(first === Infinity ? 0 : first);
  }
  throw new Error(`${exe} is not mapped in process ${pid}`);
}
