// What the collector and the demo do on a kernel that will not run all of
// pgferret: real kernels refusing real programs (copies of the object with
// one program's first instruction made invalid), and a kernel without BTF
// (a private mount namespace hides /sys/kernel/btf from the collector).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hasProgramType, PROGRAM_TYPES } from '@pgferret/bpf-loader';
import { Client } from 'pg';
import { BPF_OBJECT } from '../packages/collector/src/collector';
import { A } from '../packages/collector/src/spans/attributes';
import { callHelper, patchProgram, readUninitialised } from './helpers/bpf-object-patch';
import { armBackend, CLI, eventually, phasesOf, randomTraceparent, startCollector, startReceiver, statementsOf, startTraced, type Traced } from './helpers/collector';
import { startPostgres } from './helpers/postgres';

const REPO = path.resolve(__dirname, '..');
const DEMO = path.join(REPO, 'packages', 'demo', 'dist', 'cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-refusals-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs `args` with /sys/kernel/btf hidden (an empty tmpfs over it, in a mount namespace of its own). */
function withoutBtf(args: string[], timeoutMs: number) {
  const t0 = Date.now();
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', 'mount -t tmpfs none /sys/kernel/btf && exec "$@"', 'sh', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' },
  });
  return { ...r, ms: Date.now() - t0 };
}

/** A sampled statement on an armed backend: parented to its traceparent, with its plan and execute phases. */
async function expectTracedWithPhases(traced: Traced): Promise<void> {
  const client = new Client({ connectionString: traced.pg.connectionString });
  await client.connect();
  try {
    await armBackend((sql) => client.query(sql), traced.collector);
    const tp = randomTraceparent();
    await client.query(`SELECT count(*) FROM generate_series(1, 1000) ${tp.comment}`);
    await eventually('the statement span', () => statementsOf(traced.receiver, tp.traceId).length === 1);
    const [stmt] = statementsOf(traced.receiver, tp.traceId);
    expect(stmt.parentSpanId).toBe(tp.spanId);
    await eventually('its phases', () => phasesOf(traced.receiver, stmt).length >= 2);
    expect(phasesOf(traced.receiver, stmt).map((p) => p.attributes['postgresql.phase'])).toEqual(expect.arrayContaining(['plan', 'execute']));
  } finally {
    await client.end();
  }
}

describe('a kernel that refuses the lock-wait programs', () => {
  let traced: Traced;
  const object = path.join(dir, 'refuse-locks.bpf.o');
  beforeAll(async () => {
    patchProgram(BPF_OBJECT, object, 'uprobe_lock_wait', readUninitialised);
    traced = await startTraced('debian', ['--bpf-object', object]);
  });
  afterAll(() => traced?.stop());

  it('runs without lock waits, says so once in the log and in status, and traces statements with their phases', async () => {
    const out = traced.collector.output();
    const said = out.split('\n').filter((l) => l.includes('running without locks'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/the kernel refused its BPF program uprobe_lock_wait: the verifier said: .*R9 !read_ok/);
    const status = await traced.collector.status();
    expect(status.refused.locks).toMatch(/uprobe_lock_wait/);
    expect(status.refused).toMatchObject({ phases: null, waits: null, nested: null });
    expect(status.clusters[0].inside.locks).toBe(status.refused.locks);
    expect(status.programs.find((p: { name: string }) => p.name === 'uprobe_lock_wait')).toMatchObject({ loaded: false });
    const printed = spawnSync(process.execPath, [CLI, 'status', '--state-dir', traced.collector.stateDir], { encoding: 'utf8' });
    expect(printed.stdout).toMatch(/^WITHOUT locks: the kernel refused its BPF program uprobe_lock_wait/m);

    await expectTracedWithPhases(traced);
  });
});

describe('a kernel that refuses the profile program', () => {
  const object = path.join(dir, 'refuse-profile.bpf.o');
  let traced: Traced;
  beforeAll(async () => {
    patchProgram(BPF_OBJECT, object, 'on_cpu_sample', readUninitialised);
    traced = await startTraced('debian', ['--root-sample-rate', '0', '--bpf-object', object]);
  }, 120_000);
  afterAll(() => traced?.stop());

  it('runs without the profile, says so once, and traces statements with their phases and no profile', async () => {
    const said = traced.collector.output().split('\n').filter((l) => l.includes('running without profile'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/the kernel refused its BPF program on_cpu_sample/);
    const status = await traced.collector.status();
    expect(status.refused).toMatchObject({ phases: null, waits: null, locks: null, nested: null });
    expect(status.refused.profile).toMatch(/on_cpu_sample/);
    expect(status.profile).toMatchObject({ hz: 0, clocks: 0 });
    expect(status.profile.refused).toMatch(/the kernel refused its program: .*on_cpu_sample/);
    const printed = spawnSync(process.execPath, [CLI, 'status', '--state-dir', traced.collector.stateDir], { encoding: 'utf8' });
    expect(printed.stdout).toMatch(/^CPU profile: off \(the kernel refused its program: .*on_cpu_sample/m);
    const client = new Client({ connectionString: traced.pg.connectionString });
    await client.connect();
    try {
      await armBackend((sql) => client.query(sql), traced.collector);
      const tp = randomTraceparent();
      await client.query(`SELECT count(*) FROM generate_series(1, 3000000) ${tp.comment}`);
      await eventually('the statement span', () => statementsOf(traced.receiver, tp.traceId).length === 1);
      const [stmt] = statementsOf(traced.receiver, tp.traceId);
      expect(phasesOf(traced.receiver, stmt).map((p) => p.name)).toEqual(expect.arrayContaining(['execute']));
      expect(stmt.attributes[A.cpuOnMs]).toBeGreaterThan(100);
      expect(stmt.attributes[A.profileSamples]).toBeUndefined();
      expect(stmt.events.filter((e) => e.name === 'pgferret.profile')).toEqual([]);
      expect((await traced.collector.status()).kernel.samples).toBe(0);
    } finally {
      await client.end();
    }
  });
});

describe('a kernel that refuses the socket trampolines (fexit on __sys_recvfrom/__sys_sendto)', () => {
  let traced: Traced;
  const object = path.join(dir, 'refuse-fexit.bpf.o');
  // this project's machines refuse every tracing program (EPERM): there the fallback comes before the patched program is tried
  const tracing = hasProgramType(PROGRAM_TYPES.tracing) === true;
  beforeAll(async () => {
    patchProgram(BPF_OBJECT, object, 'on_recvfrom', callHelper(10000));
    traced = await startTraced('debian', ['--bpf-object', object]);
  });
  afterAll(() => traced?.stop());

  it('follows sockets at the recvfrom/sendto syscall tracepoints instead, says why once in the log and in status, and traces statements', async () => {
    const said = traced.collector.output().split('\n').filter((l) => l.includes('following sockets at'));
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(/following sockets at the recvfrom\/sendto syscall tracepoints: every other syscall on the host takes the kernel's syscall-tracing path/);
    const why = tracing ? /the kernel refused its fexit program on_recvfrom: this kernel lacks the BPF helper unknown#10000/ : /this kernel allows no tracing programs/;
    expect(said[0]).toMatch(why);
    const status = await traced.collector.status();
    expect(status.socketHook.hook).toBe('syscalls');
    expect(status.socketHook.fallback).toMatch(why);
    expect(status.refused).toEqual({ phases: null, waits: null, locks: null, nested: null, tls: null, profile: null });
    expect(socketPrograms(status)).toEqual(['on_exit_recvfrom true', 'on_exit_sendto true', 'on_recvfrom false', 'on_sendto false', 'on_sys_exit false']);
    const printed = spawnSync(process.execPath, [CLI, 'status', '--state-dir', traced.collector.stateDir], { encoding: 'utf8' });
    expect(printed.stdout).toMatch(/^sockets followed at the recvfrom\/sendto syscall tracepoints: every other syscall on the host takes the kernel's syscall-tracing path \(~70 ns\) \(/m);

    await expectTracedWithPhases(traced);
  });
});

/** The socket programs of a status, each with whether it loaded, sorted. */
function socketPrograms(status: { programs: { name: string; loaded: boolean }[] }): string[] {
  return status.programs.filter((p) => /^on_(recvfrom|sendto|exit_recvfrom|exit_sendto|sys_exit)$/.test(p.name)).map((p) => `${p.name} ${p.loaded}`).sort();
}

/**
 * A collector, exporting to a receiver, whose mount namespace `prepare` (a shell line run as root in a private mount
 * namespace) changed: the host's mounts stay as they are; `env` for the collector (PGFERRET_SOCKET_HOOK: the same path
 * on any kernel).
 */
async function startTracedWithMounts(prepare: string, env: Record<string, string>): Promise<Traced> {
  const pg = await startPostgres({ flavor: 'debian' });
  const receiver = await startReceiver();
  const launcher = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${prepare} && exec "$@"`, 'sh'];
  const collector = await startCollector(['--port', String(pg.port)], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, ...env }, CLI, launcher);
  const stop = async () => {
    await collector.stop();
    await receiver.close();
    await pg.stop();
  };
  try {
    await collector.waitFor(/running; Ctrl-C to stop/);
  } catch (e) {
    await stop();
    throw e;
  }
  return { pg, receiver, collector, stop };
}

// where libbpf looks for tracepoint ids: debugfs's tracing directory first, then tracefs's own mount point
const UNMOUNT_TRACING = 'for m in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; do umount "$m" 2>/dev/null; done; true';

describe('a host whose tracefs is not mounted (no systemd to mount it)', () => {
  let traced: Traced;
  beforeAll(async () => {
    traced = await startTracedWithMounts(UNMOUNT_TRACING, { PGFERRET_SOCKET_HOOK: 'syscalls' });
  });
  afterAll(() => traced?.stop());

  it('mounts tracefs at /sys/kernel/tracing, says so once, and follows sockets at the syscall tracepoints', async () => {
    const out = traced.collector.output();
    expect(out.split('\n').filter((l) => l.includes('mounted tracefs at /sys/kernel/tracing'))).toHaveLength(1);
    expect(out).not.toMatch(/following sockets at/);
    const status = await traced.collector.status();
    expect(status.socketHook).toEqual({ hook: 'syscalls', fallback: null });
    expect(socketPrograms(status)).toEqual(['on_exit_recvfrom true', 'on_exit_sendto true', 'on_recvfrom false', 'on_sendto false', 'on_sys_exit false']);
    await expectTracedWithPhases(traced);
  });
});

describe('a host without syscall tracepoints (an empty directory where tracefs would be)', () => {
  let traced: Traced;
  beforeAll(async () => {
    // on a kernel without tracing programs the collector falls back twice (fexit, then the tracepoints): not forced there
    const env: Record<string, string> = hasProgramType(PROGRAM_TYPES.tracing) === true ? { PGFERRET_SOCKET_HOOK: 'syscalls' } : {};
    traced = await startTracedWithMounts(`${UNMOUNT_TRACING} && mount -t tmpfs none /sys/kernel/tracing`, env);
  });
  afterAll(() => traced?.stop());

  it('follows sockets at the sys_exit tracepoint, says why once in the log and in status, and traces statements', async () => {
    const said = traced.collector.output().split('\n').filter((l) => l.includes('following sockets at'));
    // each fall-back said once: from fexit first where the kernel has no tracing programs, then from the tracepoints
    const first = hasProgramType(PROGRAM_TYPES.tracing) === true ? [] : [expect.stringMatching(/following sockets at the recvfrom\/sendto syscall tracepoints: .*this kernel allows no tracing programs/)];
    expect(said).toEqual([
      ...first,
      expect.stringMatching(/following sockets at the sys_exit tracepoint, which every syscall on the host pays for \(~170 ns\): \/sys\/kernel\/tracing\/events\/syscalls\/sys_exit_recvfrom\/id does not exist: this kernel has no syscall tracepoints \(built without CONFIG_FTRACE_SYSCALLS\) or no tracefs at \/sys\/kernel\/tracing$/),
    ]);
    const status = await traced.collector.status();
    expect(status.socketHook.hook).toBe('sys_exit');
    expect(status.socketHook.fallback).toMatch(/sys_exit_recvfrom\/id does not exist/);
    // both reasons, in order, where there were two
    if (hasProgramType(PROGRAM_TYPES.tracing) !== true) expect(status.socketHook.fallback).toMatch(/^this kernel allows no tracing programs .*; then \/sys\/kernel\/tracing\/events\/syscalls/);
    expect(socketPrograms(status)).toEqual(['on_exit_recvfrom false', 'on_exit_sendto false', 'on_recvfrom false', 'on_sendto false', 'on_sys_exit true']);
    const printed = spawnSync(process.execPath, [CLI, 'status', '--state-dir', traced.collector.stateDir], { encoding: 'utf8' });
    expect(printed.stdout).toMatch(/^sockets followed at the sys_exit tracepoint, which every syscall on the host pays for \(~170 ns\) \(/m);

    await expectTracedWithPhases(traced);
  });
});

describe('a kernel that lacks a helper the gate calls', () => {
  it('the collector exits non-zero at once with one line naming the helper and where the supported kernels are', async () => {
    const object = path.join(dir, 'refuse-gate.bpf.o');
    patchProgram(BPF_OBJECT, object, 'on_sys_exit', callHelper(10000));
    // the socket hook of a kernel without fexit programs, on any machine
    const c = await startCollector(['--bpf-object', object], { PGFERRET_SOCKET_HOOK: 'sys_exit' });
    const code = await new Promise<number | null>((r) => (c.child.exitCode !== null ? r(c.child.exitCode) : c.child.once('exit', r)));
    await c.stop();
    expect(code).not.toBe(0);
    const errors = c.output().split('\n').filter((l) => l.includes('error:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/refused the collector's program on_sys_exit, which follows statements at the socket: nothing can be traced without it\. this kernel lacks the BPF helper unknown#10000/);
    expect(errors[0]).toMatch(/Supported kernels/);
    expect(c.output()).not.toMatch(/web UI|running; Ctrl-C/);
  });
});

describe('a kernel without BTF', () => {
  it('the collector exits non-zero with one line: what is missing, the running kernel and the minimum', () => {
    const r = withoutBtf([process.execPath, CLI, 'run', '--state-dir', path.join(dir, 'state-nobtf')], 30_000);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toBe(
      `[pgferret] error: this kernel (Linux ${os.release()}) has no BTF type information (/sys/kernel/btf/vmlinux is missing); ` +
        'pgferret-collector needs Linux 5.17 or later with BTF (CONFIG_DEBUG_INFO_BTF=y)',
    );
  });

  it('the demo stops within 30 s with that reason, before starting anything', () => {
    const r = withoutBtf([process.execPath, DEMO, '--exit-after-traffic'], 30_000);
    expect(r.error).toBeUndefined(); // not killed by the timeout
    expect(r.status).not.toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stdout + r.stderr).toMatch(/has no BTF type information .*needs Linux 5\.17 or later/);
    expect(r.stdout + r.stderr).not.toMatch(/starting an embedded PostgreSQL|web UI/);
  });
});
