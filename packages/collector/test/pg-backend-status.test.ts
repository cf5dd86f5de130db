// offsetof(PgBackendStatus, st_query_id) per major against the binaries the
// tests run: the collector's reading of pgstat_get_my_query_id's machine code
// equals the table and objdump's disassembly of the same function; 13 has
// neither the function nor MyBEEntry.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { fileOffset, readElf } from '../src/discover/elf';
import { queryIdOffset, queryIdOffsetInCode } from '../src/pg/backend-status';
import { binDirFor, EMBEDDED_FLAVORS, embeddedMajor, type PgFlavor } from '../../../test/helpers/postgres';

const FLAVORS: [PgFlavor, number][] = [['debian', 15], ...EMBEDDED_FLAVORS.map((f) => [f, embeddedMajor(f)!] as [PgFlavor, number])];

/** The displacement of the `mov 0x…(%reg),%rax` objdump shows in the function. */
function objdumpOffset(exe: string, at: bigint): number | null {
  const out = execFileSync('objdump', ['-d', '--no-show-raw-insn', `--start-address=0x${at.toString(16)}`, `--stop-address=0x${(at + 32n).toString(16)}`, exe], { encoding: 'utf8' });
  const m = /mov\s+(-?0x[0-9a-f]+)\(%r(?!ip)[a-z0-9]+\),%rax/.exec(out);
  return m ? Number(m[1]) : null;
}

test.each(FLAVORS)('%s (PostgreSQL %i): st_query_id where the table says', (flavor, major) => {
  const exe = `${binDirFor(flavor)}/postgres`;
  const elf = readElf(exe);
  const fn = elf.functionValues.get('pgstat_get_my_query_id');
  const entry = elf.objects.get('MyBEEntry');
  if (major < 14) {
    expect([fn, entry, queryIdOffset(major)]).toEqual([undefined, undefined, null]);
    return;
  }
  const code = Buffer.alloc(48);
  const fd = fs.openSync(exe, 'r');
  fs.readSync(fd, code, 0, code.length, fileOffset(elf, fn!)!);
  fs.closeSync(fd);
  const fromCode = queryIdOffsetInCode(code, fn!, entry!.value);
  expect({ fromCode, objdump: objdumpOffset(exe, fn!) }).toEqual({ fromCode: queryIdOffset(major), objdump: queryIdOffset(major) });
});

test('code of another shape is not taken for the load', () => {
  // mov 0x10(%rip),%rax; test; je; mov 0x1a8(%rax),%rax; ret — but the first load is of another global
  const code = Buffer.from('488b0510000000' + '4885c0' + '740c' + '488b80a8010000' + 'c3', 'hex');
  expect(queryIdOffsetInCode(code, 0x1000n, 0x1000n + 7n + 0x10n)).toBe(0x1a8);
  expect(queryIdOffsetInCode(code, 0x1000n, 0x2000n)).toBeNull();
  // a ret before any load through the pointer
  expect(queryIdOffsetInCode(Buffer.from('488b0510000000c3', 'hex'), 0x1000n, 0x1017n)).toBeNull();
});
