// Makes a copy of a compiled BPF object with one program's first instruction
// replaced: a real object the real kernel refuses, for testing what the
// collector does when a kernel will not load a program (the source stays as
// it is). ELF64 little-endian relocatable objects only, as clang emits them.
import * as fs from 'node:fs';

/** One eBPF instruction: opcode, registers (src << 4 | dst), offset, immediate. */
function insn(code: number, regs: number, off: number, imm: number): Buffer {
  const b = Buffer.alloc(8);
  b[0] = code;
  b[1] = regs;
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm, 4);
  return b;
}

/** `call <helper id>`: a kernel without that helper says "invalid func unknown#<id>". */
export const callHelper = (id: number) => insn(0x85, 0, 0, id);
/** `r0 = *(u64 *)(r9 + 0)` as a program's first instruction: r9 is not initialised ("R9 !read_ok"). */
export const readUninitialised = insn(0x79, 0x90, 0, 0);

/** File offset of `symbol` (a program's entry) in the object. */
function symbolOffset(elf: Buffer, symbol: string): number {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return { type: elf.readUInt32LE(at + 4), offset: Number(elf.readBigUInt64LE(at + 0x18)), size: Number(elf.readBigUInt64LE(at + 0x20)), link: elf.readUInt32LE(at + 0x28) };
  };
  for (let i = 0; i < shnum; i++) {
    const symtab = section(i);
    if (symtab.type !== 2 /* SHT_SYMTAB */) continue;
    const strtab = section(symtab.link);
    for (let at = symtab.offset; at < symtab.offset + symtab.size; at += 24) {
      const nameAt = strtab.offset + elf.readUInt32LE(at);
      const name = elf.toString('latin1', nameAt, elf.indexOf(0, nameAt));
      if (name !== symbol) continue;
      const shndx = elf.readUInt16LE(at + 6);
      return section(shndx).offset + Number(elf.readBigUInt64LE(at + 8));
    }
  }
  throw new Error(`no symbol ${symbol} in the object`);
}

/** Writes `to`: `from` with the first instruction of `program` replaced by `first`. */
export function patchProgram(from: string, to: string, program: string, first: Buffer): void {
  const elf = fs.readFileSync(from);
  first.copy(elf, symbolOffset(elf, program));
  fs.writeFileSync(to, elf);
}
