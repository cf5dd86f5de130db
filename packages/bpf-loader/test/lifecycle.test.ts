// Detaching: per link, on close(), and when the attaching process is
// SIGKILLed. Checked from outside: the kernel's perf-event attachments
// (bpftool perf) and the target's USDT semaphore, which the kernel bumps
// while a USDT probe is attached.
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { BpfError, BpfObject } from '../src';
import { bpfObject, fixtures, runChild, Target, targetBinary, waitFor } from './fixtures';

interface PerfEntry { pid: number; fd_type: string; filename?: string }

function perfAttachments(pid: number): PerfEntry[] {
  const all = JSON.parse(execFileSync('bpftool', ['perf', '-j'], { encoding: 'utf8' })) as PerfEntry[];
  return all.filter((e) => e.pid === pid);
}

describe('lifecycle', () => {
  let binary: string;
  let objectPath: string;
  let target: Target;

  beforeAll(async () => {
    binary = targetBinary();
    objectPath = bpfObject('probes');
  });
  beforeEach(async () => {
    target = await Target.start(binary);
  });
  afterEach(() => target.stop());

  test('close() detaches everything and is idempotent', async () => {
    const obj = BpfObject.open(objectPath);
    obj.load();
    const links = [
      obj.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle' }),
      obj.attachUprobe({ program: 'on_return', binaryPath: binary, symbol: 'pgft_handle', retprobe: true }),
      obj.attachUsdt({ program: 'on_usdt', binaryPath: binary, provider: 'pgft', name: 'query' }),
    ];
    const reader = obj.ringBuffer('events', () => {});
    expect(perfAttachments(process.pid).map((e) => e.fd_type).sort()).toEqual(['uprobe', 'uprobe', 'uretprobe']);
    expect(await target.semaphore()).toBe(1);

    obj.close();
    obj.close();
    expect(perfAttachments(process.pid)).toEqual([]);
    expect(await target.semaphore()).toBe(0);
    expect(links.map((l) => l.attached)).toEqual([false, false, false]);
    links[0].detach();
    reader.close();
    expect(() => obj.map('counts')).toThrow(BpfError);
    expect(() => obj.programs()).toThrow(/is closed: open and load it again/);
  });

  test('a SIGKILLed process leaves nothing attached', async () => {
    const child = spawn(process.execPath, [path.join(fixtures, 'child.js'), 'hold', objectPath, binary], { stdio: ['ignore', 'pipe', 'inherit'] });
    const first = await readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
    expect(JSON.parse(first.value)).toEqual({ ok: true, pid: child.pid });
    // bpftool walks every process's descriptors: under a loaded CI it once listed one of the two
    await waitFor(() => perfAttachments(child.pid!).length >= 2, 'the two attachments to be listed', 3000).catch(() => {});
    expect(perfAttachments(child.pid!).map((e) => e.fd_type).sort()).toEqual(['uprobe', 'uprobe']);
    expect(await target.semaphore()).toBe(1);

    const exited = new Promise((r) => child.on('exit', r));
    child.kill('SIGKILL');
    await exited;
    let sema = -1;
    await waitFor(() => perfAttachments(child.pid!).length === 0, 'perf events of the killed process to go');
    for (const deadline = Date.now() + 5000; Date.now() < deadline && sema !== 0; ) sema = await target.semaphore();
    expect(sema).toBe(0);

    // The function still works and a fresh observer sees exactly its calls.
    const obj = BpfObject.open(objectPath);
    obj.load();
    obj.attachUprobe({ program: 'on_entry', binaryPath: binary, symbol: 'pgft_handle', pid: target.pid });
    await target.call('one');
    await target.call('two');
    const key = Buffer.alloc(4);
    key.writeUInt32LE(1);
    expect(obj.map('counts').lookup(key)!.readBigUInt64LE(0)).toBe(2n);
    obj.close();
  });

  test('an unref()ed reader lets the process exit', () => {
    // runChild waits for the child to exit; a ref'd reader would hang it until the timeout.
    expect(runChild('unref', [objectPath])).toEqual({ ok: true });
  });

  test('failed opens free what they allocated (the ELF copy, the object, the name)', () => {
    const garbage = Buffer.alloc(4 * 1024 * 1024, 0x7f);
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as BpfError).code;
      }
      return 'opened';
    };
    const round = () => {
      for (let i = 0; i < 50; i++) {
        expect(fail(() => BpfObject.open(garbage, { name: `garbage-${i}` }))).not.toBe('opened');
        expect(fail(() => BpfObject.open(targetBinary()))).not.toBe('opened');
      }
    };
    round(); // allocator and libbpf warm-up
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 4; i++) round();
    // a leaked 4 MiB copy per failed open would be 800 MiB here
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
  });
});
