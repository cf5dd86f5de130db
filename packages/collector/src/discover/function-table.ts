// Every function of an ELF file with its address range (.symtab when the
// file has one, else .dynsym: local functions included), to name the
// addresses of CPU samples. Debian strips .symtab: static functions (such
// as ExecHashJoin, ExecSeqScan) are then unnamed and their frames count
// for the file as a whole — unless its debug symbols are installed
// (postgresql-15-dbgsym and the like): a separate file under
// /usr/lib/debug/.build-id/ named by the binary's build id, whose .symtab is
// read instead.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cstr, readLoadSegments, sections, type LoadSegment, type Section } from './elf';

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const NT_GNU_BUILD_ID = 3;
/** where Debian's -dbgsym (and Fedora's -debuginfo) packages put debug files */
export const DEBUG_DIR = '/usr/lib/debug';
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;

export interface FunctionTable {
  /** link-time start addresses, ascending */
  starts: Float64Array;
  ends: Float64Array;
  names: string[];
  segments: LoadSegment[];
  /** the file or its debug file has .symtab (static functions are named) */
  full: boolean;
  /** the separate debug file the names came from, or null */
  debugFile: string | null;
}

/** The file's GNU build id (hex), or null. */
export function buildIdOf(buf: Buffer, all: Section[] = sections(buf)): string | null {
  for (const note of all.filter((x) => x.type === SHT_NOTE)) {
    let o = note.offset;
    while (o + 12 <= note.offset + note.size) {
      const namesz = buf.readUInt32LE(o);
      const descsz = buf.readUInt32LE(o + 4);
      const type = buf.readUInt32LE(o + 8);
      const desc = o + 12 + ((namesz + 3) & ~3);
      if (type === NT_GNU_BUILD_ID && namesz === 4 && buf.toString('latin1', o + 12, o + 15) === 'GNU' && descsz > 1) return buf.toString('hex', desc, desc + descsz);
      o = desc + ((descsz + 3) & ~3);
    }
  }
  return null;
}

/** A debug file of this build id under one of `debugDirs` that has .symtab. */
function debugFileOf(buildId: string, debugDirs: readonly string[]): { file: string; buf: Buffer; all: Section[] } | null {
  for (const dir of debugDirs) {
    const file = path.join(dir, '.build-id', buildId.slice(0, 2), `${buildId.slice(2)}.debug`);
    try {
      const buf = fs.readFileSync(file);
      const all = sections(buf);
      if (all.some((x) => x.type === SHT_SYMTAB) && buildIdOf(buf, all) === buildId) return { file, buf, all };
    } catch {
      /* not installed there: the next */
    }
  }
  return null;
}

/** `debugDirs`: where separate debug files are looked for when the file has no .symtab (first found wins). */
export function readFunctionTable(file: string, debugDirs: readonly string[] = [DEBUG_DIR]): FunctionTable {
  const own = fs.readFileSync(file);
  const ownSections = sections(own);
  const id = ownSections.some((x) => x.type === SHT_SYMTAB) ? null : buildIdOf(own, ownSections);
  const debug = id ? debugFileOf(id, debugDirs) : null;
  // a debug file's .symtab has the binary's link-time addresses; .dynsym stays the binary's
  const symtab = (debug?.all ?? ownSections).find((x) => x.type === SHT_SYMTAB);
  const tables: [Buffer, Section[], Section][] = [
    ...(symtab ? [[debug?.buf ?? own, debug?.all ?? ownSections, symtab] as [Buffer, Section[], Section]] : []),
    ...ownSections.filter((x) => x.type === SHT_DYNSYM).map((t) => [own, ownSections, t] as [Buffer, Section[], Section]),
  ];
  const seen = new Map<number, { end: number; name: string }>();
  for (const [buf, all, t] of tables) {
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
    segments: readLoadSegments(file),
    full: symtab !== undefined,
    debugFile: debug?.file ?? null,
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
