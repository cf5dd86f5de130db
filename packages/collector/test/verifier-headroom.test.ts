// The collector's BPF object on the running kernel: every program loads,
// each within a quarter of the verifier's 1M-instruction limit (a program
// near the limit loads on one kernel build and is refused on the next), and
// every program is assigned to the feature it serves.
import * as os from 'node:os';
import { BPF_OBJECT } from '../src/collector';
import { loadProbes, PROGRAMS, VERIFIER_BUDGET, type LoadedProbes } from '../src/kernel/load';
import { missingKernelFeature } from '../src/kernel/requirements';

describe(`the BPF object on this kernel (Linux ${os.release()})`, () => {
  let loaded: LoadedProbes;
  const logged: string[] = [];
  beforeAll(() => {
    loaded = loadProbes(BPF_OBJECT, (m) => logged.push(m));
  });
  afterAll(() => loaded?.obj.close());

  it('meets the stated minimum, and loads whole: no feature refused', () => {
    expect(missingKernelFeature()).toBeNull();
    expect(loaded.refused).toEqual({ phases: null, waits: null, locks: null, nested: null, tls: null, profile: null });
    expect(logged).toEqual([]);
  });

  it(`verifies every program in at most ${VERIFIER_BUDGET.toLocaleString('en')} instructions`, () => {
    const table = loaded.programs.map((p) => `${p.name.padEnd(24)} ${String(p.verifiedInsns).padStart(9)}`).join('\n');
    process.stdout.write(`verified instructions on Linux ${os.release()}:\n${table}\n`);
    expect(loaded.programs.filter((p) => !p.loaded || p.verifiedInsns === 0).map((p) => p.name)).toEqual([]);
    // the names over budget, so a failure says which
    expect(loaded.programs.filter((p) => p.verifiedInsns > VERIFIER_BUDGET).map((p) => `${p.name}: ${p.verifiedInsns}`)).toEqual([]);
  });

  it('assigns every program of the object to one feature, and names no program the object lacks', () => {
    const inObject = loaded.programs.map((p) => p.name).sort();
    const assigned = Object.values(PROGRAMS).flat().sort();
    expect(assigned).toEqual(inObject);
  });
});
