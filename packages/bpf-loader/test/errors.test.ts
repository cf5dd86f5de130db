// Every failure names what happened and what to do. Capability, BTF, uprobe
// and tracefs failures are produced for real in a child process with dropped
// capabilities or in a private mount namespace hiding the kernel interface.
import * as path from 'node:path';
import { BpfError, BpfObject } from '../src';
import { bpfObject, runChild, targetBinary } from './fixtures';

function thrown(fn: () => unknown): BpfError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(BpfError);
    return e as BpfError;
  }
  throw new Error('expected a BpfError');
}

// Private mount namespace: what we mount over stays invisible to the host.
const hiding = (...dirs: string[]) => ['unshare', '-m', '--propagation', 'private', 'sh', '-c', dirs.map((d) => `mount -t tmpfs none ${d} && `).join('') + 'exec "$0" "$@"'];

describe('errors', () => {
  let binary: string;
  let probes: string;
  let loaded: BpfObject;

  beforeAll(() => {
    binary = targetBinary();
    probes = bpfObject('probes');
    loaded = BpfObject.open(probes);
    loaded.load();
  });
  afterAll(() => loaded.close());

  test('object file missing or not a BPF object', () => {
    const missing = thrown(() => BpfObject.open('/nonexistent/x.bpf.o'));
    expect(missing.code).toBe('OBJECT_NOT_FOUND');
    expect(missing.message).toMatch(/\/nonexistent\/x\.bpf\.o does not exist: build it first/);

    const garbage = thrown(() => BpfObject.open(Buffer.from('definitely not ELF')));
    expect(garbage.code).toBe('INVALID_OBJECT');
    expect(garbage.message).toMatch(/not a valid BPF object .*clang -target bpf/);

    const hostElf = thrown(() => BpfObject.open(binary));
    expect(hostElf.code).toBe('INVALID_OBJECT');
    expect(hostElf.message).toContain(binary);
  });

  test('verifier rejection carries the full verifier log', () => {
    const obj = BpfObject.open(bpfObject('bad'));
    const e = thrown(() => obj.load());
    obj.close();
    expect(e.code).toBe('VERIFIER');
    expect(e.message).toMatch(/verifier rejected a program \('out_of_bounds'\): .*invalid access to map value.*error\.verifierLog/);
    expect(e.verifierLog).toMatch(/^[\s\S]*call bpf_map_lookup_elem[\s\S]*invalid access to map value, value_size=8 off=32 size=8[\s\S]*processed \d+ insns/);
  });

  test('binary, symbol and USDT probe not found name the binary', () => {
    const noBinary = thrown(() => loaded.attachUprobe({ program: 'on_entry', binaryPath: '/nonexistent/postgres', symbol: 'main' }));
    expect(noBinary.code).toBe('BINARY_NOT_FOUND');
    expect(noBinary.message).toMatch(/binary \/nonexistent\/postgres was not found: .*\/proc\/<pid>\/exe/);

    const noSymbol = thrown(() => loaded.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'no_such_function' }));
    expect(noSymbol.code).toBe('SYMBOL_NOT_FOUND');
    expect(noSymbol.message).toContain(`symbol 'no_such_function' was not found in ${binary}`);

    const noProbe = thrown(() => loaded.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'nope' }));
    expect(noProbe.code).toBe('USDT_NOT_FOUND');
    expect(noProbe.message).toContain(`USDT probe pgft:nope was not found in ${binary}`);

    const noNotes = thrown(() => loaded.attachUsdt({ program: 'on_usdt', binaryPath: '/bin/true', provider: 'postgresql', name: 'query__start' }));
    expect(noNotes.code).toBe('USDT_NOT_FOUND');
    expect(noNotes.message).toMatch(/readelf -n \/bin\/true.*--enable-dtrace/);
  });

  test('unknown program, map or constant; wrong order of calls', () => {
    const noProgram = thrown(() => loaded.attachUprobe({ program: 'nope', binaryPath: binary, symbol: 'pgft_handle' }));
    expect(noProgram.code).toBe('PROGRAM_NOT_FOUND');
    expect(noProgram.message).toMatch(/no BPF program named 'nope' .*it has: on_entry, on_offset/);

    const noMap = thrown(() => loaded.map('nope'));
    expect(noMap.code).toBe('MAP_NOT_FOUND');
    expect(noMap.message).toMatch(/no map named 'nope' .*counts/);

    const fresh = BpfObject.open(probes);
    expect(thrown(() => fresh.setConstant('nope', 1)).code).toBe('CONSTANT_NOT_FOUND');
    expect(thrown(() => fresh.setConstant('target_tgid', 2 ** 40)).message).toMatch(/is 4 bytes and cannot hold/);
    expect(thrown(() => fresh.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle' })).code).toBe('NOT_LOADED');
    fresh.load();
    expect(thrown(() => fresh.setConstant('target_tgid', 1)).code).toBe('ALREADY_LOADED');
    expect(thrown(() => fresh.load()).code).toBe('ALREADY_LOADED');
    expect(thrown(() => fresh.ringBuffer('counts', () => {})).message).toMatch(/'counts' is not a ring buffer/);
    expect(thrown(() => fresh.attachUprobe({ program: 'on_entry', binaryPath: binary })).code).toBe('BAD_ARGUMENT');
    expect(thrown(() => fresh.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle', pid: 2 ** 22 + 12345 })).code).toBe('PROCESS_NOT_FOUND');
    fresh.close();
  });

  test('missing CAP_BPF/CAP_PERFMON is named, with the fix', () => {
    // root without any capability: same refusal as an unprivileged user, and it
    // still reads the checkout when that sits in a private (0700) directory
    const r = runChild('load', [probes], ['setpriv', '--inh-caps=-all', '--bounding-set=-all', '--ambient-caps=-all']);
    expect(r.ok).toBe(false);
    expect(r.code).toBe('EPERM_CAPABILITY');
    expect(r.message).toMatch(/lacks CAP_BPF and CAP_PERFMON\. Run it as root, or grant the capabilities to this program only: .*never `setcap` the system node/);
  });

  test('kernel without BTF', () => {
    const r = runChild('vmlinux', [], hiding('/sys/kernel/btf'));
    expect(r).toMatchObject({ ok: false, code: 'NO_BTF' });
    expect(r.message).toMatch(/no BTF \(\/sys\/kernel\/btf\/vmlinux is missing\): run a kernel built with CONFIG_DEBUG_INFO_BTF=y/);
    expect(runChild('load', [probes], hiding('/sys/kernel/btf'))).toMatchObject({ ok: false, code: 'NO_BTF' });
  });

  test('kernel without uprobes', () => {
    const r = runChild('uprobe', [probes, binary], hiding('/sys/bus/event_source/devices'));
    expect(r).toMatchObject({ ok: false, code: 'NO_UPROBES' });
    expect(r.message).toMatch(/no uprobe support .*CONFIG_UPROBE_EVENTS=y/);
  });

  test('tracefs: missing gives the mount command; mounted, tracepoint programs attach', () => {
    const missing = runChild('tracepoint', [probes], hiding('/sys/kernel/tracing', '/sys/kernel/debug'));
    expect(missing).toMatchObject({ ok: false, code: 'NO_TRACEFS' });
    expect(missing.message).toMatch(/mount -t tracefs nodev \/sys\/kernel\/tracing.*raw_tp/);
    // mounted in a namespace of its own unless the host has it mounted already (the collector mounts it where nothing did)
    const mount = '(mountpoint -q /sys/kernel/tracing || mount -t tracefs nodev /sys/kernel/tracing)';
    const mounted = runChild('tracepoint', [probes], ['unshare', '-m', '--propagation', 'private', 'sh', '-c', `${mount} && exec "$0" "$@"`]);
    expect(mounted).toEqual({ ok: true, count: 10 });
  });
});
