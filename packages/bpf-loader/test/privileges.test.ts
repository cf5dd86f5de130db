// dropCapabilities: every thread of a real Node process keeps only what it
// was told to keep, no exec regains anything, and BPF attaching still works.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CAPABILITIES, uprobeNeedsSysAdmin } from '../src';
import { bpfObject, fixtures, targetBinary } from './fixtures';

// DAC_READ_SEARCH, SYS_PTRACE, PERFMON, BPF (+ SYS_ADMIN where the kernel wants it for uprobes)
const BASE = (1n << 2n) | (1n << 19n) | (1n << 38n) | (1n << 39n);
const hex = (n: bigint) => n.toString(16).padStart(16, '0');

test('dropCapabilities keeps the listed capabilities on every thread it can reach, sets no_new_privs on all', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgft-drop-'));
  const foreign = path.join(dir, 'nobodys-file');
  fs.writeFileSync(foreign, '');
  fs.chownSync(foreign, 65534, 65534);
  fs.chmodSync(foreign, 0o600);
  try {
    // the uprobe still attaches after the drop: proof the kept set is enough
    const out = execFileSync(process.execPath, [path.join(fixtures, 'drop-child.js'), bpfObject('probes'), targetBinary(), foreign], {
      encoding: 'utf8',
      timeout: 30000,
    });
    const r = JSON.parse(out.trim().split('\n').pop()!);
    expect(r).toMatchObject({ ok: true });
    expect(CAPABILITIES.CAP_BPF).toBe(39);
    const KEPT = BASE | (r.needsSysAdmin ? 1n << 21n : 0n);
    const { threads, unreachable } = r.dropped as { threads: number[]; unreachable: number[] };
    // main, 4 platform workers, the libuv pool, the worker_thread and its helpers
    expect(threads.length).toBeGreaterThanOrEqual(8);
    for (const t of r.after) {
      expect(t.nnp).toBe('1');
      expect([t.inh, t.amb]).toEqual([hex(0n), hex(0n)]);
      if (unreachable.includes(t.tid)) continue;
      expect([t.tid, t.eff, t.prm, t.bnd]).toEqual([t.tid, hex(KEPT), hex(KEPT), hex(KEPT)]);
    }
    // Node's SIGUSR1 watcher blocks every signal: at most that one is out of reach
    expect(unreachable.length).toBeLessThanOrEqual(1);
    expect(r.after.map((t: { tid: number }) => t.tid).sort()).toEqual([...threads, ...unreachable].sort());
    expect(r.foreignWrite).toBe('EACCES');
    expect(r.child).toContain(`CapEff:\t${hex(KEPT)}`);
    expect(r.child).toContain('NoNewPrivs:\t1');
    expect(r.badArgument).toMatch(/BAD_ARGUMENT: .*capability numbers must be integers from 0 to 63/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('uprobeNeedsSysAdmin agrees with what a process holding only CAP_BPF and CAP_PERFMON can attach', () => {
  const attach = spawnSync(
    'setpriv',
    ['--inh-caps=-all', '--bounding-set=-all,+bpf,+perfmon', process.execPath, path.join(fixtures, 'child.js'), 'uprobe', bpfObject('probes'), targetBinary()],
    { encoding: 'utf8', timeout: 20000 },
  );
  const r = JSON.parse(attach.stdout.trim().split('\n').pop()!);
  expect(r.ok).toBe(!uprobeNeedsSysAdmin());
  if (!r.ok) expect(r.message).toMatch(/Permission denied/);
});
