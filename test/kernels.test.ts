// The kernel matrix: the collector's check (test/kernels/check.ts: BPF load
// with each program's verified instruction count, end to end on Debian
// PostgreSQL, a clean kernel log; uprobes as uprobe_multi links on 6.6+ and
// as perf-event uprobes before) on Debian 12's stock kernels booted under
// QEMU (the newest 6.1 and 6.12, fetched by scripts/kernels.sh) and on this
// machine's own kernel. A kernel that cannot be booted fails its row: no skips.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SOCKET_HOOKS, SOCKET_PROGRAMS } from '../packages/collector/src/kernel/load';
import { RESULT_MARKER, VERIFIED_INSNS_LIMIT, type CheckResult } from './kernels/check';
import { checkTools, matrixKernels, runInGuest } from './kernels/vm';

const REPO = path.resolve(__dirname, '..');
const CHECK = `${process.execPath} -r ./test/kernels/ts-register.js test/kernels/check.ts`;
const ROW_TIMEOUT_MS = 9 * 60_000;
const ARTIFACT = path.join(REPO, 'test-artifacts', 'kernel-matrix.json');
const rows: Record<string, unknown> = {};

function parseResult(stdout: string, stderr: string, status: number | null): CheckResult {
  const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARKER));
  if (!line) throw new Error(`the check exited with ${status} and no result:\n${stderr.split('\n').slice(-40).join('\n')}`);
  return JSON.parse(line.slice(RESULT_MARKER.length)) as CheckResult;
}

/** The verified-instruction table and the time each step took, for the test log (and BENCHMARKS.md). */
function report(label: string, r: CheckResult, timing: Record<string, number>): void {
  const width = Math.max(12, ...r.programs.map((p) => p.name.length));
  const table = r.programs.map((p) => `  ${p.name.padEnd(width)} ${String(p.verifiedInsns).padStart(9)} ${String(p.xlatedBytes).padStart(9)}${p.verifiedInsns > VERIFIED_INSNS_LIMIT ? '  OVER' : ''}`).join('\n');
  const steps = r.steps.map((s) => `  ${s.ok ? 'ok  ' : 'FAIL'} ${s.name.padEnd(18)} ${(s.ms / 1000).toFixed(1).padStart(6)} s${s.error ? `  ${s.error.split('\n')[0].slice(0, 300)}` : ''}`).join('\n');
  const times = Object.entries(timing).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(', ');
  console.log(`${label}: ${r.release}\n${r.version}\nuprobes: ${r.uprobeMulti ? 'uprobe_multi links' : 'perf-event uprobes'}\nsockets: ${r.socketHook}${r.socketFallback ? ` (${r.socketFallback})` : ''}\nprogram, verified instructions (limit ${VERIFIED_INSNS_LIMIT}), xlated bytes:\n${table || '  (not loaded)'}\nsteps:\n${steps}\ntime: ${times}`);
  rows[label] = { ...r, timing };
  fs.mkdirSync(path.dirname(ARTIFACT), { recursive: true });
  fs.writeFileSync(ARTIFACT, `${JSON.stringify(rows, null, 2)}\n`);
}

function expectPassed(r: CheckResult): void {
  // the failed steps first: they say why (a refused load, a span that never came)
  expect(r.steps.filter((s) => !s.ok).map((s) => `${s.name}: ${s.error}`)).toEqual([]);
  expect(r.programs.length).toBeGreaterThan(0);
  expect(r.programs.filter((p) => p.verifiedInsns > VERIFIED_INSNS_LIMIT)).toEqual([]);
  expect(r.badKernelLines).toEqual([]);
  // uprobe_multi links where the kernel has them (6.6+), perf-event uprobes before: both ways trace end to end
  const [major, minor] = r.release.split('.').map(Number);
  expect(r.uprobeMulti).toBe(major > 6 || (major === 6 && minor >= 6));
  // fexit trampolines on __sys_recvfrom/__sys_sendto wherever the kernel has tracing programs; the syscall tracepoints where not
  expect([r.socketHook, r.socketFallback === null]).toEqual(r.tracingPrograms ? ['fexit', true] : ['syscalls', false]);
  // every socket hook's programs loaded (the ones after the chosen one for their margins): none left at 0 instructions
  const chosen: string[] = SOCKET_HOOKS.slice(SOCKET_HOOKS.indexOf(r.socketHook!)).flatMap((h) => SOCKET_PROGRAMS[h]);
  expect(r.programs.filter((p) => chosen.includes(p.name) && p.verifiedInsns === 0).map((p) => p.name)).toEqual([]);
  // and where fexit programs load but will not attach (another tool holds every slot of __sys_recvfrom's trampoline): the syscall tracepoints, said why
  if (r.socketHook === 'fexit') expect(r.trampolineFullFallback).toMatch(/^the kernel would not attach its fexit programs: .*trampoline is full/);
  else expect(r.trampolineFullFallback).toBeNull();
}

beforeAll(() => {
  // compiles the check and the helpers it uses into ts-register's cache, and
  // builds its trampoline filler: guests read both from the read-only root
  const warm = spawn(process.execPath, ['-r', './test/kernels/ts-register.js', '-e', "require('./test/kernels/check.ts').buildFiller()"], { cwd: REPO, stdio: 'inherit' });
  return new Promise<void>((resolve, reject) => warm.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`compiling the check failed (${code})`)))));
}, 60_000);

describe('kernel matrix', () => {
  it.each(['6.1', '6.12'])('Debian kernel %s (newest) under QEMU: the collector loads with headroom, traces end to end, leaves a clean kernel log', async (series) => {
    checkTools();
    const kernel = matrixKernels().find((k) => k.series === series);
    if (!kernel) throw new Error(`no ${series} kernel in the matrix: run scripts/kernels.sh`);
    const started = Date.now();
    const run = await runInGuest(kernel, `cd ${REPO} && exec ${CHECK}`, { timeoutMs: ROW_TIMEOUT_MS - 30_000 });
    const r = parseResult(run.stdout, `${run.stderr}\n--- guest kernel log ---\n${run.dmesg.split('\n').slice(-20).join('\n')}`, run.status);
    report(series, r, { boot: run.bootMs, check: r.totalMs, vm: run.totalMs, total: Date.now() - started });
    expectPassed(r);
    // Debian's stock kernels have BPF trampolines: the socket hook costs no other process anything there
    expect(r.tracingPrograms).toBe(true);
  }, ROW_TIMEOUT_MS);

  it("this machine's kernel: the same check, run directly", async () => {
    const started = Date.now();
    // its own process group: a check that runs out of time goes with everything it started
    const child = spawn('/bin/sh', ['-c', `exec ${CHECK}`], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), ROW_TIMEOUT_MS - 30_000);
    const status = await new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    clearTimeout(timer);
    const r = parseResult(stdout, stderr, status);
    report('host', r, { check: r.totalMs, total: Date.now() - started });
    expectPassed(r);
  }, ROW_TIMEOUT_MS);
});
