// Map access and the incremental BPF build.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BpfError, BpfObject, buildBpfObject, possibleCpus, vmlinuxHeaderDir } from '../src';
import { native } from '../src/native';
import { bpfObject, buildDir, fixtures, key32 } from './fixtures';

const u64 = (n: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as BpfError).code;
  }
  return 'no error';
};

describe('maps', () => {
  let obj: BpfObject;
  beforeAll(() => {
    obj = BpfObject.open(bpfObject('probes'));
    obj.load();
  });
  afterAll(() => obj.close());

  test('hash map: update flags, lookup, delete, keys, full', () => {
    const m = obj.map('scratch');
    expect([m.name, m.type, m.keySize, m.valueSize, m.maxEntries]).toEqual(['scratch', 1, 4, 8, 4]);
    expect(m.lookup(key32(1))).toBeUndefined();
    m.update(key32(1), u64(10n));
    m.update(key32(2), u64(20n), 'noexist');
    expect(code(() => m.update(key32(2), u64(21n), 'noexist'))).toBe('KEY_EXISTS');
    expect(code(() => m.update(key32(3), u64(30n), 'exist'))).toBe('KEY_NOT_FOUND');
    m.update(key32(2), u64(22n), 'exist');
    expect(m.lookup(key32(2))!.readBigUInt64LE(0)).toBe(22n);
    m.update(key32(3), u64(30n));
    m.update(key32(4), u64(40n));
    expect(code(() => m.update(key32(5), u64(50n)))).toBe('MAP_FULL');
    expect([...m.keys()].map((k) => k.readUInt32LE(0)).sort()).toEqual([1, 2, 3, 4]);
    expect(m.delete(key32(3))).toBe(true);
    expect(m.delete(key32(3))).toBe(false);
    expect([...m.keys()].length).toBe(3);
    expect(code(() => m.lookup(Buffer.alloc(2)))).toBe('BAD_ARGUMENT');
    expect(code(() => m.update(key32(1), Buffer.alloc(4)))).toBe('BAD_ARGUMENT');
  });

  test('per-CPU array: one value per possible CPU', () => {
    const m = obj.map('dropped');
    expect(code(() => m.lookup(key32(0)))).toBe('BAD_ARGUMENT');
    const cpus = possibleCpus();
    const all = Buffer.concat(Array.from({ length: cpus }, (_, i) => u64(BigInt(100 + i))));
    m.update(key32(0), all);
    expect(m.lookupPerCpu(key32(0)).map((v) => v.readBigUInt64LE(0))).toEqual(Array.from({ length: cpus }, (_, i) => BigInt(100 + i)));
    expect(code(() => obj.map('counts').lookupPerCpu(key32(0)))).toBe('BAD_ARGUMENT');
  });
});

describe('the addon validates map calls itself (not only the TypeScript layer)', () => {
  // straight to the C functions, as a caller that skips the TS checks would
  const addon = native();
  const h = addon.open(bpfObject('probes'));
  addon.load(h);
  const scratch = addon.mapInfo(h, 'scratch')!;
  const dropped = addon.mapInfo(h, 'dropped')!;
  const counts = addon.mapInfo(h, 'counts')!;
  afterAll(() => addon.close(h));
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return `${(e as { nativeCode?: string }).nativeCode}: ${(e as Error).message}`;
    }
    return 'no error';
  };

  test('key and value sizes', () => {
    expect(message(() => addon.mapLookup(h, scratch.fd, Buffer.alloc(2), 8))).toBe("BAD_ARGUMENT: key is 2 bytes but map 'scratch' takes 4");
    expect(message(() => addon.mapLookup(h, scratch.fd, key32(1), 4096))).toBe("BAD_ARGUMENT: value is 4096 bytes but map 'scratch' takes 8");
    expect(message(() => addon.mapUpdate(h, scratch.fd, key32(1), Buffer.alloc(1), 0))).toBe("BAD_ARGUMENT: value is 1 bytes but map 'scratch' takes 8");
    expect(message(() => addon.mapUpdate(h, scratch.fd, Buffer.alloc(1), u64(1n), 0))).toBe("BAD_ARGUMENT: key is 1 bytes but map 'scratch' takes 4");
    expect(message(() => addon.mapDelete(h, scratch.fd, Buffer.alloc(0)))).toBe("BAD_ARGUMENT: key is 0 bytes but map 'scratch' takes 4");
    expect(message(() => addon.mapNextKey(h, scratch.fd, null, 64))).toBe("BAD_ARGUMENT: key size is 64 bytes but map 'scratch' takes 4");
    expect(message(() => addon.mapNextKey(h, scratch.fd, Buffer.alloc(1), 4))).toBe("BAD_ARGUMENT: previous key is 1 bytes but map 'scratch' takes 4");
    // per-CPU: one 8-byte-aligned slot per possible CPU
    const perCpu = 8 * possibleCpus();
    expect(message(() => addon.mapLookup(h, dropped.fd, key32(0), 8))).toBe(`BAD_ARGUMENT: value is 8 bytes but map 'dropped' takes ${perCpu}`);
    expect(addon.mapLookup(h, dropped.fd, key32(0), perCpu)!.length).toBe(perCpu);
    // right sizes still work
    addon.mapUpdate(h, counts.fd, key32(1), u64(7n), 0);
    expect(addon.mapLookup(h, counts.fd, key32(1), 8)!.readBigUInt64LE(0)).toBe(7n);
  });

  test('an fd that is not a map of this object', () => {
    expect(message(() => addon.mapLookup(h, 0, key32(1), 8))).toBe('BAD_ARGUMENT: fd 0 is not a map of this BPF object');
    const other = addon.open(bpfObject('probes'));
    addon.load(other);
    try {
      expect(message(() => addon.mapUpdate(h, addon.mapInfo(other, 'counts')!.fd, key32(1), u64(1n), 0))).toMatch(/^BAD_ARGUMENT: fd \d+ is not a map of this BPF object$/);
    } finally {
      addon.close(other);
    }
  });
});

describe('buildBpfObject', () => {
  const source = path.join(buildDir, 'incremental.bpf.c');
  const output = path.join(buildDir, 'incremental.bpf.o');

  test('vmlinux.h is generated once for the running kernel', () => {
    const dir = vmlinuxHeaderDir();
    expect(fs.statSync(path.join(dir, 'vmlinux.h')).size).toBeGreaterThan(1_000_000);
    expect(vmlinuxHeaderDir()).toBe(dir);
  });

  test('rebuilds only when the source, a header or the flags change', () => {
    fs.mkdirSync(buildDir, { recursive: true });
    fs.writeFileSync(path.join(buildDir, 'incremental.h'), '#define VALUE 1\n');
    fs.copyFileSync(path.join(fixtures, 'bad.bpf.c'), source);
    fs.appendFileSync(source, '#include "incremental.h"\n');
    fs.rmSync(output, { force: true });
    buildBpfObject({ source, output });
    const first = fs.statSync(output).mtimeMs;
    buildBpfObject({ source, output });
    expect(fs.statSync(output).mtimeMs).toBe(first);

    const later = new Date(Date.now() + 2000);
    fs.utimesSync(path.join(buildDir, 'incremental.h'), later, later);
    buildBpfObject({ source, output });
    const second = fs.statSync(output).mtimeMs;
    expect(second).toBeGreaterThan(first);
    buildBpfObject({ source, output, defines: { PGFT_FLAVOUR: '2' } });
    expect(fs.statSync(output).mtimeMs).toBeGreaterThan(second);

    fs.appendFileSync(source, 'this is not C;\n');
    const e = code(() => buildBpfObject({ source, output }));
    expect(e).toBe('COMPILE_FAILED');
    expect(code(() => buildBpfObject({ source: '/nonexistent.bpf.c', output }))).toBe('SOURCE_NOT_FOUND');
  });
});
