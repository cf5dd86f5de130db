// Reads what the probe tables need from a postgres executable: its USDT
// probes (.note.stapsdt), the names of its functions and its global data
// objects (.dynsym and, when not stripped, .symtab), and its PT_LOAD
// segments (to find a symbol in a running process, see addresses.ts).
// Only ELF64 little-endian (x86-64, arm64).
import * as fs from 'node:fs';

export interface ElfSymbol {
  /** st_value: the link-time address */
  value: bigint;
  /** st_size in bytes */
  size: number;
}

export interface LoadSegment {
  vaddr: bigint;
  /** file offset */
  offset: bigint;
  filesz: bigint;
  memsz: bigint;
}

export interface ElfInfo {
  usdt: Set<string>; // "provider:name"
  /** link-time addresses of each USDT probe's sites ("provider:name" → pcs, adjusted for prelinking) */
  usdtSites: Map<string, bigint[]>;
  functions: Set<string>;
  /** link-time addresses of global and weak functions (to attach uprobes by file offset: no ELF lookup per attach) */
  functionValues: Map<string, bigint>;
  /** their sizes in bytes (st_size): which function a USDT site is in */
  functionSizes: Map<string, number>;
  /** their first 8 bytes of code (where a uprobe goes: src/probes/entry.ts), read here so attaching reads no file */
  functionEntries: Map<string, Buffer>;
  /** global and weak data objects (STT_OBJECT) by name */
  objects: Map<string, ElfSymbol>;
  segments: LoadSegment[];
}

export interface Section {
  name: string;
  type: number;
  /** sh_addr: where it is at link time */
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

const SHT_SYMTAB = 2;
const SHT_NOTE = 7;
const SHT_DYNSYM = 11;
const STT_OBJECT = 1;
const STT_FUNC = 2;
const STB_LOCAL = 0;
const PT_LOAD = 1;
const EHDR_SIZE = 64;

export function cstr(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
}

function checkHeader(buf: Buffer): void {
  if (buf.length < EHDR_SIZE || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('only 64-bit little-endian ELF files are supported');
}

/** The PT_LOAD program headers; `read(offset, length)` gives the file's bytes there. */
function loadSegments(read: (offset: number, length: number) => Buffer): LoadSegment[] {
  const eh = read(0, EHDR_SIZE);
  checkHeader(eh);
  const phoff = Number(eh.readBigUInt64LE(0x20));
  const phentsize = eh.readUInt16LE(0x36);
  const phnum = eh.readUInt16LE(0x38);
  const ph = read(phoff, phentsize * phnum);
  const out: LoadSegment[] = [];
  for (let o = 0; o + 56 <= ph.length; o += phentsize) {
    if (ph.readUInt32LE(o) !== PT_LOAD) continue;
    out.push({
      offset: ph.readBigUInt64LE(o + 8),
      vaddr: ph.readBigUInt64LE(o + 16),
      filesz: ph.readBigUInt64LE(o + 32),
      memsz: ph.readBigUInt64LE(o + 40),
    });
  }
  return out;
}

/** Only the PT_LOAD segments, reading the headers and not the whole file. */
export function readLoadSegments(path: string): LoadSegment[] {
  const fd = fs.openSync(path, 'r');
  try {
    return loadSegments((offset, length) => {
      const b = Buffer.alloc(length);
      return b.subarray(0, fs.readSync(fd, b, 0, length, offset));
    });
  } finally {
    fs.closeSync(fd);
  }
}

export function sections(buf: Buffer): Section[] {
  checkHeader(buf);
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  const shstrndx = buf.readUInt16LE(0x3e);
  const raw = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    raw.push({
      nameOff: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      addr: buf.readBigUInt64LE(o + 0x10),
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
      link: buf.readUInt32LE(o + 0x28),
      entsize: Number(buf.readBigUInt64LE(o + 0x38)),
    });
  }
  const names = raw[shstrndx];
  return raw.map((s) => ({ ...s, name: names ? cstr(buf, names.offset + s.nameOff) : '' }));
}

function readUsdt(buf: Buffer, note: Section, base: Section | undefined, info: ElfInfo): void {
  let o = note.offset;
  const end = note.offset + note.size;
  while (o + 12 <= end) {
    const namesz = buf.readUInt32LE(o);
    const descsz = buf.readUInt32LE(o + 4);
    const type = buf.readUInt32LE(o + 8);
    const nameAt = o + 12;
    const descAt = nameAt + ((namesz + 3) & ~3);
    if (type === 3 && cstr(buf, nameAt) === 'stapsdt') {
      // desc: pc, base, semaphore (3 x u64), then provider\0name\0args\0
      const provider = cstr(buf, descAt + 24);
      const name = cstr(buf, descAt + 24 + provider.length + 1);
      const key = `${provider}:${name}`;
      info.usdt.add(key);
      // a prelinked file moved its sections: the note's base says by how much
      let pc = buf.readBigUInt64LE(descAt);
      const noteBase = buf.readBigUInt64LE(descAt + 8);
      if (base && noteBase !== 0n) pc += base.addr - noteBase;
      info.usdtSites.set(key, [...(info.usdtSites.get(key) ?? []), pc]);
    }
    o = descAt + ((descsz + 3) & ~3);
  }
}

function readSymbols(buf: Buffer, all: Section[], symtab: Section, info: ElfInfo): void {
  const strtab = all[symtab.link];
  if (!strtab || symtab.entsize === 0) return;
  for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += symtab.entsize) {
    const type = buf[o + 4] & 0xf;
    const bind = buf[o + 4] >> 4;
    const shndx = buf.readUInt16LE(o + 6);
    if (shndx === 0) continue; // defined symbols only
    if (type === STT_FUNC) {
      const name = cstr(buf, strtab.offset + buf.readUInt32LE(o));
      info.functions.add(name);
      if (bind !== STB_LOCAL) {
        info.functionValues.set(name, buf.readBigUInt64LE(o + 8));
        info.functionSizes.set(name, Number(buf.readBigUInt64LE(o + 16)));
        const at = fileOffset(info, buf.readBigUInt64LE(o + 8));
        if (at !== null && at + 8 <= buf.length) info.functionEntries.set(name, Buffer.from(buf.subarray(at, at + 8)));
      }
    }
    // file-static objects may share a name: only globals are unambiguous
    if (type === STT_OBJECT && bind !== STB_LOCAL) {
      info.objects.set(cstr(buf, strtab.offset + buf.readUInt32LE(o)), {
        value: buf.readBigUInt64LE(o + 8),
        size: Number(buf.readBigUInt64LE(o + 16)),
      });
    }
  }
}

export function readElf(path: string): ElfInfo {
  const buf = fs.readFileSync(path);
  const all = sections(buf);
  const segments = loadSegments((offset, length) => buf.subarray(offset, offset + length));
  const info: ElfInfo = { usdt: new Set(), usdtSites: new Map(), functions: new Set(), functionValues: new Map(), functionSizes: new Map(), functionEntries: new Map(), objects: new Map(), segments };
  for (const s of all) {
    if (s.type === SHT_NOTE && s.name === '.note.stapsdt') readUsdt(buf, s, all.find((x) => x.name === '.stapsdt.base'), info);
    if (s.type === SHT_DYNSYM || s.type === SHT_SYMTAB) readSymbols(buf, all, s, info);
  }
  return info;
}

/** The file offset of a link-time address (what a uprobe attaches to); null when no segment holds it. */
export function fileOffset(elf: ElfInfo, value: bigint): number | null {
  const seg = elf.segments.find((s) => value >= s.vaddr && value < s.vaddr + s.filesz);
  return seg ? Number(value - seg.vaddr + seg.offset) : null;
}

/** The file offset of a function's first instruction; null when it is not a global function of the file. */
export function functionOffset(elf: ElfInfo, name: string): number | null {
  const value = elf.functionValues.get(name);
  return value === undefined ? null : fileOffset(elf, value);
}

/** The file offsets of a USDT probe's sites (a probe may sit in several places); with `within`, only its sites inside that global function. */
export function usdtOffsets(elf: ElfInfo, provider: string, name: string, within?: string): number[] {
  let sites = elf.usdtSites.get(`${provider}:${name}`) ?? [];
  if (within !== undefined) {
    const start = elf.functionValues.get(within);
    const size = elf.functionSizes.get(within) ?? 0;
    sites = start === undefined ? [] : sites.filter((pc) => pc >= start && pc < start + BigInt(size));
  }
  return sites.flatMap((pc) => fileOffset(elf, pc) ?? []);
}
