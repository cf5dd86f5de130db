// Whether a function-entry uprobe is emulated (push, nop) or single-stepped
// (anything else, endbr64 included), and in
// every PostgreSQL binary the tests run: the functions of every uprobe
// (phases, locks, SPI, TLS) start with an emulated one, but for the SPI
// entries of the embedded builds, which the collector names (checked against
// objdump's disassembly).
import { execFileSync } from 'node:child_process';
import { readElf } from '../src/discover/elf';
import { cheapEntry, emulatedEntry } from '../src/probes/entry';
import { encryptedProbes } from '../src/probes/encrypted';
import { chooseProbeSet, nestedProbes, slowEntries } from '../src/probes/tables';
import { binDirFor, EMBEDDED_FLAVORS, type PgFlavor } from '../../../test/helpers/postgres';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

test.each([
  ['push %rbp; mov %rsp,%rbp', '55 4889e5 0000'],
  ['push %rbx; sub $0x140,%rsp', '53 4881ec40010000'],
  ['push %r15', '4157 4156 4155 00'],
  ['a 1-byte nop', '90 4889e5 000000'],
  ['a 5-byte nop', '0f1f440000 000000'],
])('%s: emulated', (_what, code) => {
  expect(emulatedEntry(hex(code))).toBe(true);
});

test.each([
  ['mov %rdi,%rax', '4889f8 4883c001 c3'],
  ['sub $0x18,%rsp', '4883ec18 00000000'],
  ['test %rdi,%rdi (the embedded builds\' SPI_execute_plan*)', '4885ff b8faffffff'],
  ['endbr64 (builds with -fcf-protection)', 'f30f1efa 55 4889e5'],
  ['a REX.W prefix is not a push', '4850 000000000000'],
])('%s: single-stepped', (_what, code) => {
  expect(emulatedEntry(hex(code))).toBe(false);
});

const FLAVORS: PgFlavor[] = ['debian', ...EMBEDDED_FLAVORS];

/** what objdump says the function's first instruction is */
function firstInstruction(exe: string, at: bigint): string | undefined {
  const out = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${at.toString(16)}`, `--stop-address=0x${(at + 4n).toString(16)}`, exe], { encoding: 'utf8' });
  return /^\s+[0-9a-f]+:\s+(\S+)/m.exec(out)?.[1];
}

test.each(FLAVORS)('%s: every uprobe sits on an instruction the kernel emulates, but the SPI entries the embedded builds start with a test', (flavor) => {
  const exe = `${binDirFor(flavor)}/postgres`;
  const elf = readElf(exe);
  const set = chooseProbeSet(elf)!;
  expect(set.name).toBe(flavor === 'debian' ? 'usdt' : 'uprobe');
  const all = [...set.probes, ...set.locks, ...nestedProbes(elf.functions), ...encryptedProbes(elf)];
  const slow = slowEntries(all, elf);
  // the embedded builds (no frame pointer) start these with `test %rdi,%rdi`: named in the collector's log
  expect(slow).toEqual(flavor === 'debian' ? [] : flavor === 'embedded13' ? ['SPI_execute_plan', 'SPI_execute_plan_with_paramlist'] : ['SPI_execute_plan_extended']);
  const names = [...new Set(all.flatMap((p) => (p.type === 'uprobe' ? [p.symbols[0]] : [])))];
  expect(names).toEqual(expect.arrayContaining(['ProcSleep', 'be_tls_read', 'be_tls_write', ...(flavor === 'debian' ? [] : ['pg_plan_query', 'PortalRun'])]));
  for (const name of names) {
    const first = firstInstruction(exe, elf.functionValues.get(name)!);
    if (slow.includes(name)) {
      expect(first).toBe('test');
      expect(cheapEntry(elf, name)).toBe(false);
    } else {
      expect(first).toBe('push');
      expect(cheapEntry(elf, name)).toBe(true);
    }
  }
});
