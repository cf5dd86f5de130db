// /proc/PID/maps → load bias (root test/pg-tables.test.ts reads real backends).
import { loadBias, parseMaps } from '../src/discover/addresses';

// Debian's postgres 15: a PIE whose first PT_LOAD is at vaddr 0, replaced on disk since it started
const MAPS = `55d0c4a00000-55d0c4ace000 r--p 00000000 fe:00 1234   /usr/lib/postgresql/15/bin/postgres (deleted)
55d0c4ace000-55d0c5003000 r-xp 000ce000 fe:00 1234   /usr/lib/postgresql/15/bin/postgres (deleted)
55d0c5003000-55d0c525f000 r--p 00603000 fe:00 1234   /usr/lib/postgresql/15/bin/postgres (deleted)
55d0c525f000-55d0c5295000 rw-p 0085f000 fe:00 1234   /usr/lib/postgresql/15/bin/postgres (deleted)
55d0c5295000-55d0c52c7000 rw-p 00000000 00:00 0
7f1e2c000000-7f1e2c021000 rw-p 00000000 00:00 0                          [heap]
7f1e2d400000-7f1e2d428000 r--p 00000000 fe:00 99     /usr/lib/x86_64-linux-gnu/libc.so.6
`;

const PIE = [
  { vaddr: 0n, offset: 0n, filesz: 0xcd580n, memsz: 0xcd580n },
  { vaddr: 0xce000n, offset: 0xce000n, filesz: 0x5341d9n, memsz: 0x5341d9n },
  { vaddr: 0x603000n, offset: 0x603000n, filesz: 0x25be68n, memsz: 0x25be68n },
  { vaddr: 0x85f850n, offset: 0x85f850n, filesz: 0x3527an, memsz: 0x67250n },
];

test('parses mappings: file-backed (paths with spaces), anonymous, special', () => {
  const maps = parseMaps(MAPS);
  expect(maps).toHaveLength(7);
  expect(maps[0]).toEqual({ start: 0x55d0c4a00000n, end: 0x55d0c4ace000n, offset: 0n, path: '/usr/lib/postgresql/15/bin/postgres (deleted)' });
  expect(maps[3].offset).toBe(0x85f000n);
  expect(maps[4].path).toBe('');
  expect(maps[5].path).toBe('[heap]');
});

test('PIE: the bias is where file offset 0 was mapped', () => {
  const bias = loadBias(parseMaps(MAPS), '/usr/lib/postgresql/15/bin/postgres (deleted)', PIE);
  expect(bias).toBe(0x55d0c4a00000n);
  // a .bss global past the file's bytes lands in the anonymous mapping after the file's
  const bss = bias! + 0x8b0000n;
  expect(parseMaps(MAPS).find((m) => m.start <= bss && bss < m.end)?.path).toBe('');
});

test('non-PIE: the bias is 0', () => {
  const maps = parseMaps('00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/postgres\n');
  expect(loadBias(maps, '/usr/bin/postgres', [{ vaddr: 0x400000n, offset: 0n, filesz: 0x52000n, memsz: 0x52000n }])).toBe(0n);
});

test('not mapped, or another file: null', () => {
  expect(loadBias(parseMaps(MAPS), '/usr/lib/postgresql/15/bin/postgres', PIE)).toBeNull();
  expect(loadBias(parseMaps(MAPS), '/usr/lib/postgresql/15/bin/postgres (deleted)', [])).toBeNull();
});
