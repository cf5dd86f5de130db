// Where a function-entry uprobe goes: on an instruction the kernel emulates
// (push, nop), past an endbr64, never silently on one it single-steps; and in
// every PostgreSQL binary the tests run, the phase and lock probes' functions
// start with one it emulates (checked against objdump's disassembly).
import { execFileSync } from 'node:child_process';
import { readElf } from '../src/discover/elf';
import { emulatedEntry } from '../src/probes/entry';
import { chooseProbeSet, placeEntries } from '../src/probes/tables';
import { binDirFor, EMBEDDED_FLAVORS, type PgFlavor } from '../../../test/helpers/postgres';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

test.each([
  ['push %rbp; mov %rsp,%rbp', 0, '55 4889e5 0000'],
  ['push %rbx; sub $0x140,%rsp', 0, '53 4881ec40010000'],
  ['push %r15', 0, '4157 4156 4155 00'],
  ['a 1-byte nop', 0, '90 4889e5 000000'],
  ['a 5-byte nop', 0, '0f1f440000 000000'],
  ['endbr64, then push %rbp', 4, 'f30f1efa 55 4889e5'],
  ['endbr64, then push %r12', 4, 'f30f1efa 4154 0000'],
] as [string, number, string][])('%s: probed at +%i', (_what, at, code) => {
  expect(emulatedEntry(hex(code))).toBe(at);
});

test.each([
  ['mov %rdi,%rax (single-stepped)', '4889f8 4883c001 c3'],
  ['sub $0x18,%rsp', '4883ec18 00000000'],
  ['endbr64, then a mov', 'f30f1efa 4889f8 00'],
  ['a REX.W prefix is not a push', '4850 000000000000'],
])('%s: no emulated entry', (_what, code) => {
  expect(emulatedEntry(hex(code))).toBeNull();
});

const FLAVORS: PgFlavor[] = ['debian', ...EMBEDDED_FLAVORS];

test.each(FLAVORS)('%s: the probed functions start with an instruction the kernel emulates', (flavor) => {
  const exe = `${binDirFor(flavor)}/postgres`;
  const elf = readElf(exe);
  const chosen = chooseProbeSet(elf)!;
  expect(chosen.name).toBe(flavor === 'debian' ? 'usdt' : 'uprobe');
  const { set, slow } = placeEntries(chosen, exe, elf);
  expect(slow).toEqual([]);
  const uprobes = [...set.probes, ...set.locks].filter((p) => p.type === 'uprobe');
  expect(uprobes.map((p) => p.symbols[0]).sort()).toEqual(flavor === 'debian' ? ['ProcSleep', 'ProcSleep'] : ['PortalRun', 'PortalRun', 'ProcSleep', 'ProcSleep', 'pg_plan_query']);
  for (const p of uprobes) {
    expect(p.at ?? 0).toBe(0);
    // objdump agrees: its first instruction is a push
    const at = elf.functionValues.get(p.symbols[0])!;
    const out = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${at.toString(16)}`, `--stop-address=0x${(at + 4n).toString(16)}`, exe], { encoding: 'utf8' });
    expect(/^\s+[0-9a-f]+:\s+(\S+)/m.exec(out)?.[1]).toBe('push');
  }
});
