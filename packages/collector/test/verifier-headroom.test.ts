// The collector's BPF object on the running kernel: every program loads,
// each within a quarter of the verifier's 1M-instruction limit (a program
// near the limit loads on one kernel build and is refused on the next), and
// every program is assigned to the feature it serves.
import * as os from 'node:os';
import { hasProgramType, PROGRAM_TYPES } from '@pgferret/bpf-loader';
import { BPF_OBJECT } from '../src/collector';
import { loadProbes, PROGRAMS, SOCKET_PROGRAMS, VERIFIER_BUDGET, type LoadedProbes } from '../src/kernel/load';
import { missingKernelFeature } from '../src/kernel/requirements';

describe(`the BPF object on this kernel (Linux ${os.release()})`, () => {
  let loaded: LoadedProbes;
  const logged: string[] = [];
  beforeAll(() => {
    loaded = loadProbes(BPF_OBJECT, (m) => logged.push(m));
  });
  afterAll(() => loaded?.obj.close());

  // this project's own machines refuse tracing programs even to root (EPERM): the gate runs on sys_exit there
  const tracing = hasProgramType(PROGRAM_TYPES.tracing) === true;

  it('meets the stated minimum, and loads whole: no feature refused; the socket hook is fexit where the kernel has tracing programs', () => {
    expect(missingKernelFeature()).toBeNull();
    expect(loaded.refused).toEqual({ phases: null, waits: null, locks: null, nested: null, tls: null, profile: null });
    expect(loaded.socketHook).toBe(tracing ? 'fexit' : 'sys_exit');
    expect(logged).toEqual(tracing ? [] : [expect.stringMatching(/^following sockets at the sys_exit tracepoint, .*this kernel allows no tracing programs/)]);
  });

  it('falls back to sys_exit, saying why, when the kernel refuses the fexit programs it was asked to load', () => {
    const said: string[] = [];
    const forced = loadProbes(BPF_OBJECT, (m) => said.push(m), { socketHook: 'fexit' });
    try {
      if (tracing) {
        expect([forced.socketHook, forced.socketFallback, said]).toEqual(['fexit', null, []]);
      } else {
        // the kernel's own refusal (EPERM at load), not the collector's guess
        expect(forced.socketHook).toBe('sys_exit');
        expect(forced.socketFallback).toMatch(/^the kernel refused its fexit program on_(recvfrom|sendto): not permitted \(EPERM\)/);
        expect(said).toEqual([`following sockets at the sys_exit tracepoint, which every syscall on the host pays for: ${forced.socketFallback}`]);
      }
      const loadedNames = forced.programs.filter((p) => p.loaded).map((p) => p.name);
      for (const p of SOCKET_PROGRAMS[forced.socketHook]) expect(loadedNames).toContain(p);
      for (const p of SOCKET_PROGRAMS[forced.socketHook === 'fexit' ? 'sys_exit' : 'fexit']) expect(loadedNames).not.toContain(p);
    } finally {
      forced.obj.close();
    }
  });

  it(`verifies every program in at most ${VERIFIER_BUDGET.toLocaleString('en')} instructions`, () => {
    const table = loaded.programs.map((p) => `${p.name.padEnd(24)} ${String(p.verifiedInsns).padStart(9)}`).join('\n');
    process.stdout.write(`verified instructions on Linux ${os.release()}:\n${table}\n`);
    // the other socket hook's programs are left out of the load
    const unused: readonly string[] = SOCKET_PROGRAMS[loaded.socketHook === 'fexit' ? 'sys_exit' : 'fexit'];
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
