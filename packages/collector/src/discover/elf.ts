// Reads what the probe tables need from a postgres executable: its USDT
// probes (.note.stapsdt) and the names of its functions (.dynsym and, when
// not stripped, .symtab). Only ELF64 little-endian (x86-64, arm64).
import * as fs from 'node:fs';

export interface ElfInfo {
  usdt: Set<string>; // "provider:name"
  functions: Set<string>;
  /** defined data objects (globals): symbol value (link-time address) and size */
  objects: Map<string, { value: number; size: number }>;
  /** PT_LOAD segments: where the file's bytes go at link time (to turn a symbol value into a runtime address) */
  loads: { vaddr: number; offset: number }[];
}

interface Section {
  name: string;
  type: number;
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
const PT_LOAD = 1;

function cstr(buf: Buffer, at: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end < 0 ? buf.length : end);
}

function sections(buf: Buffer): Section[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (buf[4] !== 2 || buf[5] !== 1) throw new Error('only 64-bit little-endian ELF files are supported');
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
      offset: Number(buf.readBigUInt64LE(o + 0x18)),
      size: Number(buf.readBigUInt64LE(o + 0x20)),
      link: buf.readUInt32LE(o + 0x28),
      entsize: Number(buf.readBigUInt64LE(o + 0x38)),
    });
  }
  const names = raw[shstrndx];
  return raw.map((s) => ({ ...s, name: names ? cstr(buf, names.offset + s.nameOff) : '' }));
}

function readUsdt(buf: Buffer, note: Section, out: Set<string>): void {
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
      out.add(`${provider}:${name}`);
    }
    o = descAt + ((descsz + 3) & ~3);
  }
}

function readSymbols(buf: Buffer, all: Section[], symtab: Section, info: ElfInfo): void {
  const strtab = all[symtab.link];
  if (!strtab || symtab.entsize === 0) return;
  for (let o = symtab.offset; o + 24 <= symtab.offset + symtab.size; o += symtab.entsize) {
    const type = buf[o + 4] & 0xf;
    const shndx = buf.readUInt16LE(o + 6);
    if (shndx === 0) continue; // defined symbols only
    if (type === STT_FUNC) info.functions.add(cstr(buf, strtab.offset + buf.readUInt32LE(o)));
    if (type === STT_OBJECT) {
      info.objects.set(cstr(buf, strtab.offset + buf.readUInt32LE(o)), { value: Number(buf.readBigUInt64LE(o + 8)), size: Number(buf.readBigUInt64LE(o + 16)) });
    }
  }
}

function readLoads(buf: Buffer): { vaddr: number; offset: number }[] {
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const out = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    if (buf.readUInt32LE(o) !== PT_LOAD) continue;
    out.push({ offset: Number(buf.readBigUInt64LE(o + 8)), vaddr: Number(buf.readBigUInt64LE(o + 16)) });
  }
  return out;
}

export function readElf(path: string): ElfInfo {
  const buf = fs.readFileSync(path);
  const all = sections(buf);
  const info: ElfInfo = { usdt: new Set(), functions: new Set(), objects: new Map(), loads: readLoads(buf) };
  for (const s of all) {
    if (s.type === SHT_NOTE && s.name === '.note.stapsdt') readUsdt(buf, s, info.usdt);
    if (s.type === SHT_DYNSYM || s.type === SHT_SYMTAB) readSymbols(buf, all, s, info);
  }
  return info;
}
