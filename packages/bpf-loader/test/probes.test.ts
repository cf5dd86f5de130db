// uprobe / uretprobe / USDT / raw tracepoint attachment against a real C
// target: exact call counts and exact strings read from user memory.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { BpfObject, forEachRecord, hasUprobeMulti, type RingBufferReader } from '../src';
import { bpfObject, fileOffsetOf, key32, Target, targetBinary, waitFor } from './fixtures';

const ENTRY = 1, RETURN = 2, USDT = 3, OFFSET = 4, SYSCALL = 5, SAMPLE = 7;
const SYS_getppid: Record<string, number> = { x64: 110, arm64: 173 };

interface Event { kind: number; pid: number; value: bigint; text: string; stack: bigint[] }

function reader(obj: BpfObject, into: Event[]): RingBufferReader {
  return obj.ringBuffer('events', (batch) => {
    const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
    forEachRecord(batch, (off) => {
      const text = batch.subarray(off + 16, off + 80);
      const kind = view.getUint32(off, true);
      into.push({
        stack: kind === SAMPLE ? Array.from({ length: Number(view.getBigUint64(off + 8, true)) / 8 }, (_, i) => view.getBigUint64(off + 16 + i * 8, true)) : [],
        kind: view.getUint32(off, true),
        pid: view.getUint32(off + 4, true),
        value: view.getBigUint64(off + 8, true),
        text: text.subarray(0, text.indexOf(0)).toString(),
      });
    });
  });
}

const count = (obj: BpfObject, kind: number) => Number(obj.map('counts').lookup(key32(kind))!.readBigUInt64LE(0));

describe('attaching to a real process', () => {
  let binary: string;
  let objectPath: string;
  const targets: Target[] = [];
  const objects: BpfObject[] = [];

  beforeAll(() => {
    binary = targetBinary();
    objectPath = bpfObject('probes');
  });
  afterEach(() => {
    for (const o of objects.splice(0)) o.close();
    for (const t of targets.splice(0)) t.stop();
  });
  const start = async () => {
    const t = await Target.start(binary);
    targets.push(t);
    return t;
  };
  const open = () => {
    const o = BpfObject.open(objectPath);
    objects.push(o);
    return o;
  };

  test('uprobe by symbol, uretprobe and USDT (with semaphore and cookie): exact counts and strings', async () => {
    const target = await start();
    const obj = open();
    obj.load();
    const events: Event[] = [];
    reader(obj, events);
    expect(await target.semaphore()).toBe(0);

    const entry = obj.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle' });
    obj.attachUprobe({ program: 'on_return', binaryPath: binary, symbol: 'pgft_handle', retprobe: true });
    const usdt = obj.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'query', cookie: 7n });
    expect(entry.attached).toBe(true);
    expect(entry.description).toBe(`uprobe ${binary}:pgft_handle -> on_entry`);
    expect(usdt.description).toBe(`usdt ${binary}:pgft:query -> on_usdt`);
    // libbpf passes the semaphore's offset to the kernel, which bumps it.
    expect(await target.semaphore()).toBe(1);

    const inputs = ['hello', "SELECT 1 /*traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/", 'x'.repeat(100)];
    for (const s of inputs) expect(await target.call(s)).toBe(s.length);
    await waitFor(() => events.length === 9, '9 events');

    expect([count(obj, ENTRY), count(obj, RETURN), count(obj, USDT)]).toEqual([3, 3, 3]);
    const of = (k: number) => events.filter((e) => e.kind === k);
    expect(of(ENTRY).map((e) => e.text)).toEqual(inputs.map((s) => s.slice(0, 63)));
    expect(of(USDT).map((e) => e.text)).toEqual(inputs.map((s) => s.slice(0, 63)));
    expect(of(USDT).map((e) => e.value)).toEqual(inputs.map((s) => 7000n + BigInt(s.length)));
    expect(of(RETURN).map((e) => e.value)).toEqual(inputs.map((s) => BigInt(s.length)));
    expect(new Set(events.map((e) => e.pid))).toEqual(new Set([target.pid]));

    usdt.detach();
    usdt.detach();
    expect(usdt.attached).toBe(false);
    expect(await target.semaphore()).toBe(0);
    await target.call('after');
    await waitFor(() => events.length === 11, '2 more events');
    expect([count(obj, ENTRY), count(obj, RETURN), count(obj, USDT)]).toEqual([4, 4, 3]);
  });

  test('release(): returns at once, the probes stop firing, a USDT attach works meanwhile, close() waits for them', async () => {
    const target = await start();
    const obj = open();
    obj.load();
    const events: Event[] = [];
    reader(obj, events);
    const links = [
      obj.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle', pid: target.pid }),
      obj.attachUprobe({ program: 'on_return', binaryPath: binary, symbol: 'pgft_handle', pid: target.pid, retprobe: true }),
      obj.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'query', pid: target.pid, cookie: 1n }),
    ];
    await target.call('before');
    await waitFor(() => events.length === 3, '3 events');
    const t0 = process.hrtime.bigint();
    for (const l of links) l.release();
    // destroying a uprobe link takes the kernel ~0.1 s each: none of that on this thread
    expect(Number(process.hrtime.bigint() - t0) / 1e6).toBeLessThan(50);
    expect(links.map((l) => l.attached)).toEqual([false, false, false]);
    const again = obj.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'query', pid: target.pid, cookie: 2n });
    expect(again.attached).toBe(true);
    // the detacher may have started: what it has not taken yet is pending, and nothing is gone before its release
    expect(obj.detacher().pending).toBeLessThanOrEqual(links.filter((l) => l.goneAtNs === null).length);
    for (const l of links) expect(l.goneAtNs === null || l.goneAtNs > t0).toBe(true);
    // the loader says when each released link is gone, in the order released
    await waitFor(() => links.every((l) => l.goneAtNs !== null), 'the released links to be destroyed');
    const gone = links.map((l) => l.goneAtNs!);
    expect(gone[0]).toBeGreaterThan(t0);
    expect(gone[0] <= gone[1] && gone[1] <= gone[2]).toBe(true);
    const d = obj.detacher();
    expect(d).toMatchObject({ pending: 0, destroyed: 3 });
    expect(d.destroyNs).toBeGreaterThan(0n);
    expect(d.destroyNs).toBeLessThanOrEqual(gone[2] - t0);
    expect(again.goneAtNs).toBeNull();
    // once the released links are gone, only the new USDT attachment is left and fires
    expect(await target.semaphore()).toBe(1);
    const before = [count(obj, ENTRY), count(obj, RETURN), count(obj, USDT)];
    await target.call('after');
    await waitFor(() => count(obj, USDT) === before[2] + 1, 'the new USDT probe');
    expect([count(obj, ENTRY), count(obj, RETURN)]).toEqual([before[0], before[1]]);
    again.release();
    obj.close(); // joins the detacher: nothing is left attached after it
    expect(await target.semaphore()).toBe(0);
    expect(again.goneAtNs).toBe(0n);
  });

  test('uprobe_multi: the kernel says whether it has them (Linux >= 6.6)', () => {
    const [major, minor] = os.release().split('.').map(Number);
    expect(hasUprobeMulti()).toBe(major > 6 || (major === 6 && minor >= 6));
  });

  test('uprobe_multi: one link per program at several offsets, pid-filtered, entry and return; released like any link', async () => {
    const [a, b] = [await start(), await start()];
    const obj = open();
    obj.setUprobeMulti('on_entry');
    obj.setUprobeMulti('on_return');
    expect(obj.usesUprobeMulti('on_entry')).toBe(true);
    expect(obj.usesUprobeMulti('on_offset')).toBe(false);
    obj.load();
    const events: Event[] = [];
    reader(obj, events);
    const handle = fileOffsetOf(binary, 'pgft_handle');
    const spin = fileOffsetOf(binary, 'pgft_spin');
    // a program loaded for uprobe_multi links attaches only that way, and the other way round
    expect(() => obj.attachUprobe({ program: 'on_entry', binaryPath: binary, offset: handle })).toThrow(/attachUprobeMulti/);
    expect(() => obj.attachUprobeMulti({ program: 'on_offset', binaryPath: binary, offsets: [handle] })).toThrow(/setUprobeMulti\(\) before load/);
    expect(() => obj.attachUprobeMulti({ program: 'on_entry', binaryPath: binary, offsets: [] })).toThrow(/non-empty array/);
    const links = [
      obj.attachUprobeMulti({ program: 'on_entry', binaryPath: binary, offsets: [handle, spin], pid: a.pid }),
      obj.attachUprobeMulti({ program: 'on_return', binaryPath: binary, offsets: [handle], pid: a.pid, retprobe: true }),
    ];
    expect(links[0].description).toBe(`uprobe_multi ${binary}:0x${handle.toString(16)},0x${spin.toString(16)} pid=${a.pid} -> on_entry`);
    await b.call('from b');
    await b.send('spin 1');
    await a.call('from a');
    await a.send('spin 1');
    await waitFor(() => count(obj, ENTRY) === 2 && count(obj, RETURN) === 1, 'both entries and one return in a');
    expect(new Set(events.map((e) => e.pid))).toEqual(new Set([a.pid]));
    expect(events.filter((e) => e.kind === ENTRY).map((e) => e.text)).toContain('from a');
    expect(events.filter((e) => e.kind === RETURN).map((e) => e.value)).toEqual([6n]);

    const t0 = process.hrtime.bigint();
    for (const l of links) l.release();
    await waitFor(() => links.every((l) => l.goneAtNs !== null), 'the released links to be destroyed');
    expect(links.every((l) => l.goneAtNs! > t0)).toBe(true);
    expect(obj.detacher()).toMatchObject({ pending: 0, destroyed: 2 });
    await a.call('after');
    await a.send('spin 1');
    expect([count(obj, ENTRY), count(obj, RETURN)]).toEqual([2, 1]);
  });

  test('uprobe by file offset with a pid filter fires only in that process', async () => {
    const [a, b] = [await start(), await start()];
    const obj = open();
    obj.load();
    const events: Event[] = [];
    reader(obj, events);
    const offset = fileOffsetOf(binary, 'pgft_handle');
    const link = obj.attachUprobe({ program: 'on_offset', binaryPath: binary, offset, pid: a.pid });
    expect(link.description).toBe(`uprobe ${binary}:0x${offset.toString(16)} pid=${a.pid} -> on_offset`);

    await b.call('from b');
    await a.call('from a');
    await b.call('from b again');
    await a.call('from a again');
    await waitFor(() => events.length === 2, '2 events');
    await new Promise((r) => setTimeout(r, 50));
    expect(count(obj, OFFSET)).toBe(2);
    expect(events.map((e) => [e.pid, e.text])).toEqual([
      [a.pid, 'from a'],
      [a.pid, 'from a again'],
    ]);
  });

  test('USDT with a pid filter', async () => {
    const [a, b] = [await start(), await start()];
    const obj = open();
    obj.load();
    obj.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'query', pid: b.pid });
    expect([await a.semaphore(), await b.semaphore()]).toEqual([0, 1]);
    await a.call('a');
    await b.call('b');
    await b.call('b');
    expect(count(obj, USDT)).toBe(2);
  });

  test('raw tracepoint with constants set before load counts one process\'s syscalls exactly', async () => {
    const target = await start();
    const obj = open();
    obj.setConstant('target_tgid', target.pid);
    obj.setConstant('syscall_nr', BigInt(SYS_getppid[process.arch]));
    obj.load();
    const link = obj.attachTracepoint({ program: 'on_sys_enter', category: 'raw_syscalls', name: 'sys_enter' });
    expect(await target.send('syscalls 25')).toBe('done 25');
    expect(count(obj, SYSCALL)).toBe(25);
    link.detach();
    await target.send('syscalls 5');
    expect(count(obj, SYSCALL)).toBe(25);
  });

  test('perf_event cpu-clock on one process: ~1 sample per ms of its CPU, user stacks through its functions, none after detach', async () => {
    const [a, b] = [await start(), await start()];
    const obj = open();
    obj.load();
    const events: Event[] = [];
    reader(obj, events);
    const link = obj.attachPerfEvent({ program: 'on_cpu_clock', pid: a.pid, hz: 1000 });
    expect(link.description).toBe(`perf_event cpu-clock 1000 Hz pid=${a.pid} -> on_cpu_clock`);
    // both burn 300 ms of CPU time: only a is sampled, at its CPU time (not wall time)
    expect(await Promise.all([a.send('spin 300'), b.send('spin 300')])).toEqual(['done 300', 'done 300']);
    await waitFor(() => events.length >= count(obj, SAMPLE), 'samples read');
    const samples = events.filter((e) => e.kind === SAMPLE);
    expect(samples.length).toBeGreaterThan(200);
    expect(samples.length).toBeLessThan(400);
    expect(new Set(samples.map((e) => e.pid))).toEqual(new Set([a.pid]));

    // the binary is PIE: its symbols are at the mapping of file offset 0 plus their value
    const base = BigInt('0x' + fs.readFileSync(`/proc/${a.pid}/maps`, 'utf8').split('\n').find((l) => l.endsWith(binary) && / 00000000 /.test(l))!.split('-')[0]);
    const nm = execFileSync('nm', ['-S', binary], { encoding: 'utf8' });
    const range = (name: string): [bigint, bigint] => {
      const m = new RegExp(`^([0-9a-f]+) ([0-9a-f]+) [tT] ${name}$`, 'm').exec(nm)!;
      return [base + BigInt('0x' + m[1]), base + BigInt('0x' + m[1]) + BigInt('0x' + m[2])];
    };
    const within = (ip: bigint | undefined, [lo, hi]: [bigint, bigint]) => ip !== undefined && ip >= lo && ip < hi;
    const [inner, outer, main] = [range('pgft_spin_inner'), range('pgft_spin'), range('main')];
    // frame pointers kept: the spin loop's caller, then main, under every leaf
    // (the loop itself, or clock_gettime in the vDSO it calls)
    const walked = samples.filter((e) => e.stack.some((ip, i) => within(ip, outer) && within(e.stack[i + 1], main)));
    expect(walked.length / samples.length).toBeGreaterThan(0.95);
    expect(samples.filter((e) => within(e.stack[0], inner) && within(e.stack[1], outer)).length / samples.length).toBeGreaterThan(0.7);

    link.detach();
    const before = count(obj, SAMPLE);
    await a.send('spin 100');
    expect(count(obj, SAMPLE)).toBe(before);
  });

  test('perf_event created disabled: no sample until setEnabled(true), none after setEnabled(false)', async () => {
    const a = await start();
    const obj = open();
    obj.load();
    const link = obj.attachPerfEvent({ program: 'on_cpu_clock', pid: a.pid, hz: 1000, enabled: false });
    await a.send('spin 100');
    expect(count(obj, SAMPLE)).toBe(0);
    expect(link.setEnabled(true)).toBe(true);
    await a.send('spin 200');
    const on = count(obj, SAMPLE);
    expect(on).toBeGreaterThan(120);
    expect(on).toBeLessThan(280);
    expect(link.setEnabled(false)).toBe(true);
    await a.send('spin 100');
    expect(count(obj, SAMPLE)).toBe(on);
    link.detach();
    expect(link.setEnabled(true)).toBe(false);
  });

  test('perf_event frequency changed while attached: the samples follow the new rate', async () => {
    const a = await start();
    const obj = open();
    obj.load();
    const link = obj.attachPerfEvent({ program: 'on_cpu_clock', pid: a.pid, hz: 1000 });
    await a.send('spin 200');
    const fast = count(obj, SAMPLE);
    expect(fast).toBeGreaterThan(120);
    expect(link.setFrequency(100)).toBe(true);
    await a.send('spin 200');
    const slow = count(obj, SAMPLE) - fast;
    // 200 ms of CPU at 100 Hz: ~20 (the first tick after the change may still come at the old period)
    expect(slow).toBeGreaterThan(8);
    expect(slow).toBeLessThan(45);
    expect(() => link.setFrequency(0)).toThrow(/hz must be a positive integer/);
    link.detach();
    expect(link.setFrequency(500)).toBe(false);
  });

  test('attachPerfEvent refuses a missing pid and a process that does not exist', () => {
    const obj = open();
    obj.load();
    expect(() => obj.attachPerfEvent({ program: 'on_cpu_clock', pid: 0, hz: 99 })).toThrow(/pid must be a positive integer/);
    expect(() => obj.attachPerfEvent({ program: 'on_cpu_clock', pid: 1, hz: 0 })).toThrow(/hz must be an integer/);
    expect(() => obj.attachPerfEvent({ program: 'on_cpu_clock', pid: 0x3ffffff0, hz: 99 })).toThrow(/process 1073741808 does not exist/);
  });
});
