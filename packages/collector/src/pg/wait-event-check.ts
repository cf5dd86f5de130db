// Checks the per-major wait-event table against the PostgreSQL binary being
// attached to. Minor releases append wait events (15.20 added IPC
// WalReceiverUpstreamCatchup), so a binary newer than the table names ids the
// table lacks: those are shown as `IPC:#51` (wait-events.ts), and this check
// says so once at attach instead of leaving the user to wonder.
//
// How many ids a class has is read from pgstat_get_wait_event()'s machine
// code: gcc compiles each class's switch to a jump table guarded by
// `sub $<class<<24>,%edi` then `cmp $<last id>,%edi; ja <default>`. Other
// code shapes (another compiler, another architecture) are not read: the
// check then says nothing, and unknown ids are still named by class and id.
import * as fs from 'node:fs';
import { functionOffset, type ElfInfo } from '../discover/elf';
import { WAIT_EVENT_NAMES, type WaitEventNames } from './wait-event-names';
import { WAIT_CLASS_NAMES } from './wait-events';

// the classes whose names come from switch statements over a dense id range
const CHECKED: Record<number, keyof WaitEventNames> = { 0x05: 'activity', 0x06: 'client', 0x08: 'ipc', 0x09: 'timeout', 0x0a: 'io' };
const SCAN_BYTES = 8192;

/** Per wait class, the number of event ids the binary's pgstat_get_wait_event() names; classes it could not read are absent. */
export function binaryWaitEventCounts(exePath: string, elf: ElfInfo): Map<number, number> {
  const counts = new Map<number, number>();
  const at = functionOffset(elf, 'pgstat_get_wait_event');
  if (at === null) return counts;
  const code = Buffer.alloc(SCAN_BYTES);
  let n: number;
  try {
    const fd = fs.openSync(exePath, 'r');
    try {
      n = fs.readSync(fd, code, 0, SCAN_BYTES, at);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return counts; // a check, never a reason not to attach: readElf read the same file just before
  }
  for (let i = 0; i + 6 <= n; i++) {
    // sub $imm32,%edi: 81 ef imm32, the immediate a class in the top byte
    if (code[i] !== 0x81 || code[i + 1] !== 0xef) continue;
    const imm = code.readUInt32LE(i + 2);
    const cls = imm >>> 24;
    if ((imm & 0xffffff) !== 0 || !(cls in CHECKED) || counts.has(cls)) continue;
    // the bound check follows within a few instructions (gcc may schedule a lea between)
    for (let j = i + 6; j < Math.min(i + 24, n - 8); j++) {
      let last: number | null = null;
      let next = 0;
      if (code[j] === 0x83 && code[j + 1] === 0xff) {
        last = code[j + 2];
        next = j + 3;
      } else if (code[j] === 0x81 && code[j + 1] === 0xff) {
        last = code.readUInt32LE(j + 2);
        next = j + 6;
      }
      if (last === null) continue;
      // ja rel8 (77) or ja rel32 (0f 87)
      if (code[next] === 0x77 || (code[next] === 0x0f && code[next + 1] === 0x87)) counts.set(cls, last + 1);
      break;
    }
  }
  return counts;
}

/**
 * Wait events the binary has and the table for `major` lacks, as `IPC:#51`; empty when the table
 * covers the binary or the binary's code could not be read. (A table longer than the binary's
 * classes is a newer minor's: harmless, the older binary never publishes those ids.)
 */
export function waitEventsMissingFromTable(major: number, exePath: string, elf: ElfInfo, table: WaitEventNames | undefined = WAIT_EVENT_NAMES[major]): string[] {
  if (!table) return [];
  const missing: string[] = [];
  for (const [cls, count] of binaryWaitEventCounts(exePath, elf)) {
    const known = table[CHECKED[cls]].length;
    for (let id = known; id < count; id++) missing.push(`${WAIT_CLASS_NAMES[cls]}:#${id}`);
  }
  return missing;
}
