// The collector's BPF object on the running kernel: every program loads,
// each within a quarter of the verifier's 1M-instruction limit (a program
// near the limit loads on one kernel build and is refused on the next), and
// every program is assigned to the feature it serves.
import * as os from 'node:os';
import { hasProgramType, PROGRAM_TYPES } from '@pgferret/bpf-loader';
import { BPF_OBJECT } from '../src/collector';
import { loadProbes, PROGRAMS, SOCKET_HOOKS, SOCKET_PROGRAMS, VERIFIER_BUDGET, type LoadedProbes, type SocketHook } from '../src/kernel/load';
import { missingKernelFeature } from '../src/kernel/requirements';

describe(`the BPF object on this kernel (Linux ${os.release()})`, () => {
  let loaded: LoadedProbes;
  const logged: string[] = [];
  beforeAll(() => {
    loaded = loadProbes(BPF_OBJECT, (m) => logged.push(m));
  });
  afterAll(() => loaded?.obj.close());

  // this project's own machines refuse tracing programs even to root (EPERM): the gate runs on the syscall tracepoints there
  const tracing = hasProgramType(PROGRAM_TYPES.tracing) === true;
  /** the socket programs of every hook but `hook`: left out of its load */
  const otherHooks = (hook: SocketHook): readonly string[] => SOCKET_HOOKS.filter((h) => h !== hook).flatMap((h) => SOCKET_PROGRAMS[h]);
  // a host whose tracefs was not mounted: the collector mounted it (its own line, tested in kernel-refusals)
  const fallbacks = (lines: string[]) => lines.filter((l) => !l.startsWith('mounted tracefs at '));

  it('meets the stated minimum, and loads whole: no feature refused; the socket hook is fexit where the kernel has tracing programs', () => {
    expect(missingKernelFeature()).toBeNull();
    expect(loaded.refused).toEqual({ phases: null, waits: null, locks: null, nested: null, tls: null, profile: null });
    expect(loaded.socketHook).toBe(tracing ? 'fexit' : 'syscalls');
    expect(fallbacks(logged)).toEqual(tracing ? [] : [expect.stringMatching(/^following sockets at the recvfrom\/sendto syscall tracepoints: .*this kernel allows no tracing programs/)]);
  });

  it('falls back to the syscall tracepoints, saying why, when the kernel refuses the fexit programs it was asked to load', () => {
    const said: string[] = [];
    const forced = loadProbes(BPF_OBJECT, (m) => said.push(m), { socketHook: 'fexit' });
    try {
      if (tracing) {
        expect([forced.socketHook, forced.socketFallback, said]).toEqual(['fexit', null, []]);
      } else {
        // the kernel's own refusal (EPERM at load), not the collector's guess
        expect(forced.socketHook).toBe('syscalls');
        expect(forced.socketFallback).toMatch(/^the kernel refused its fexit program on_(recvfrom|sendto): not permitted \(EPERM\)/);
        expect(fallbacks(said)).toEqual([
          `following sockets at the recvfrom/sendto syscall tracepoints: every other syscall on the host takes the kernel's syscall-tracing path (~70 ns): ${forced.socketFallback}`,
        ]);
      }
      const loadedNames = forced.programs.filter((p) => p.loaded).map((p) => p.name);
      for (const p of SOCKET_PROGRAMS[forced.socketHook]) expect(loadedNames).toContain(p);
      for (const p of otherHooks(forced.socketHook)) expect(loadedNames).not.toContain(p);
    } finally {
      forced.obj.close();
    }
  });

  // the last resort (a kernel without syscall tracepoints) is never this kernel's own choice: its margin measured here
  it(`loads the sys_exit program when asked, in at most ${VERIFIER_BUDGET.toLocaleString('en')} instructions`, () => {
    const last = loadProbes(BPF_OBJECT, () => {}, { socketHook: 'sys_exit' });
    try {
      const socket = last.programs.filter((p) => SOCKET_HOOKS.some((h) => SOCKET_PROGRAMS[h].includes(p.name as never)));
      process.stdout.write(`on_sys_exit on Linux ${os.release()}: ${socket.find((p) => p.name === 'on_sys_exit')?.verifiedInsns} verified instructions\n`);
      expect(socket.filter((p) => p.loaded).map((p) => p.name)).toEqual(['on_sys_exit']);
      expect(socket.filter((p) => p.loaded && p.verifiedInsns > 0 && p.verifiedInsns <= VERIFIER_BUDGET)).toHaveLength(1);
    } finally {
      last.obj.close();
    }
  });

  it(`verifies every program in at most ${VERIFIER_BUDGET.toLocaleString('en')} instructions`, () => {
    const table = loaded.programs.map((p) => `${p.name.padEnd(24)} ${String(p.verifiedInsns).padStart(9)}`).join('\n');
    process.stdout.write(`verified instructions on Linux ${os.release()}:\n${table}\n`);
    // the other socket hooks' programs are left out of the load
    const unused = otherHooks(loaded.socketHook);
    expect(loaded.programs.filter((p) => unused.includes(p.name)).map((p) => p.loaded)).toEqual(unused.map(() => false));
    expect(loaded.programs.filter((p) => !unused.includes(p.name) && (!p.loaded || p.verifiedInsns === 0)).map((p) => p.name)).toEqual([]);
    // the names over budget, so a failure says which
    expect(loaded.programs.filter((p) => p.verifiedInsns > VERIFIER_BUDGET).map((p) => `${p.name}: ${p.verifiedInsns}`)).toEqual([]);
  });

  it('assigns every program of the object to one feature, and names no program the object lacks', () => {
    const inObject = loaded.programs.map((p) => p.name).sort();
    const assigned = Object.values(PROGRAMS).flat().sort();
    expect(assigned).toEqual(inObject);
  });
});
