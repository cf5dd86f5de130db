// Every function of an ELF file with its address range (.symtab when the
// file has one, else .dynsym: local functions included), to name the
// addresses of CPU samples. Debian strips .symtab: static functions (such
// as ExecHashJoin, ExecSeqScan) are then unnamed and their frames count
// for the file as a whole.
import * as fs from 'node:fs';
import { cstr, readLoadSegments, sections, type LoadSegment } from './elf';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

export interface FunctionTable {
  /** link-time start addresses, ascending */
  starts: Float64Array;
  ends: Float64Array;
  names: string[];
  segments: LoadSegment[];
  /** the file has .symtab (static functions are named) */
  full: boolean;
}

export function readFunctionTable(path: string): FunctionTable {
  const buf = fs.readFileSync(path);
  const all = sections(buf);
  const symtab = all.find((s) => s.type === SHT_SYMTAB);
  const tables = symtab ? [symtab, ...all.filter((s) => s.type === SHT_DYNSYM)] : all.filter((s) => s.type === SHT_DYNSYM);
  const seen = new Map<number, { end: number; name: string }>();
  for (const t of tables) {
    const strtab = all[t.link];
    if (!strtab || t.entsize === 0) continue;
    for (let o = t.offset; o + 24 <= t.offset + t.size; o += t.entsize) {
      const type = buf[o + 4] & 0xf;
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || buf.readUInt16LE(o + 6) === 0) continue;
      const start = Number(buf.readBigUInt64LE(o + 8));
      const size = Number(buf.readBigUInt64LE(o + 16));
      // aliases share an address: the first (symtab's) name stays
      if (size === 0 || seen.has(start)) continue;
      seen.set(start, { end: start + size, name: cstr(buf, strtab.offset + buf.readUInt32LE(o)) });
    }
  }
  const order = [...seen.keys()].sort((a, b) => a - b);
  return {
    starts: Float64Array.from(order),
    ends: Float64Array.from(order, (a) => seen.get(a)!.end),
    names: order.map((a) => seen.get(a)!.name),
    segments: readLoadSegments(path),
    full: symtab !== undefined,
  };
}

/** The function holding a link-time address; null in a gap (an unnamed function). */
export function functionAt(t: FunctionTable, vaddr: number): string | null {
  let lo = 0;
  let hi = t.starts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (t.starts[mid] <= vaddr) lo = mid + 1;
    else hi = mid - 1;
  }
  return hi >= 0 && vaddr < t.ends[hi] ? t.names[hi] : null;
}

/** The link-time address of a file offset; null when no segment holds it. */
export function vaddrOf(t: FunctionTable, fileOffset: number): number | null {
  for (const s of t.segments) {
    const off = Number(s.offset);
    if (fileOffset >= off && fileOffset < off + Number(s.filesz)) return fileOffset - off + Number(s.vaddr);
  }
  return null;
}
