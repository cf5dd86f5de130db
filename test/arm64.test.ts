// The collector runs on x86-64 only, but its BPF object must keep building for
// arm64 (docs/arm64.md): the source as it is, compiled with the arm64 target
// define against the types of Debian's arm64 cloud kernel (its BTF, turned
// into vmlinux.h by scripts/arm64-vmlinux.sh, which setup runs).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const COLLECTOR = path.resolve(__dirname, '..', 'packages', 'collector');
const ARM64 = path.join(COLLECTOR, 'build', 'arm64');
const X86_OBJECT = path.join(COLLECTOR, 'build', 'pgferret.bpf.o');

/** Section names of a BPF object: one per program (and the maps, license, BTF). */
function sections(object: string): string[] {
  const out = execFileSync('llvm-objdump', ['-h', object], { encoding: 'utf8' });
  return [...out.matchAll(/^\s*\d+\s+(\S+)/gm)].map((m) => m[1]).sort();
}

describe('the BPF object for arm64', () => {
  let dir: string;
  let object: string;

  beforeAll(() => {
    for (const f of [path.join(ARM64, 'vmlinux.h'), X86_OBJECT]) {
      if (!fs.existsSync(f)) throw new Error(`${f} is missing: run bash scripts/setup.sh (it builds the x86-64 object and fetches the arm64 kernel types)`);
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-arm64-'));
    object = path.join(dir, 'pgferret-arm64.bpf.o');
  });
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles with clang -target bpf -D__TARGET_ARCH_arm64 against the arm64 kernel types', () => {
    const kernel = fs.readFileSync(path.join(ARM64, 'kernel'), 'utf8').trim();
    expect(kernel).toMatch(/^linux-image-.*-cloud-arm64-unsigned$/);
    const args = ['-target', 'bpf', '-O2', '-g', '-D__TARGET_ARCH_arm64', '-I', ARM64, '-I', path.join(COLLECTOR, 'bpf'), '-c', path.join(COLLECTOR, 'bpf', 'pgferret.bpf.c'), '-o', object];
    const r = spawnSync('clang', args, { encoding: 'utf8' });
    if (r.status !== 0) {
      throw new Error(`the BPF source does not build for arm64 (against ${kernel}): what docs/arm64.md says an arm64 build needs is missing from it:\n${r.stderr}`);
    }
    expect(fs.statSync(object).size).toBeGreaterThan(10_000);
  });

  it('has the same programs and maps as the x86-64 object', () => {
    expect(sections(object)).toEqual(sections(X86_OBJECT));
  });

  it("reads arm64's pt_regs at a syscall's exit (syscallno, orig_x0), not x86-64's (orig_ax)", () => {
    // the object's BTF holds the kernel types its CO-RE relocations name
    const btf = execFileSync('bpftool', ['btf', 'dump', 'file', object, 'format', 'c'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const ptRegs = btf.match(/^struct pt_regs \{[\s\S]*?^\};/m)?.[0] ?? '';
    expect(ptRegs).toContain('syscallno');
    expect(ptRegs).not.toContain('orig_ax');
    // a syscall's first argument (the socket's fd) at orig_x0: at its exit x0 holds the result
    expect(btf.match(/^struct pt_regs___arm64 \{[\s\S]*?^\};/m)?.[0]).toContain('orig_x0');
    const x86 = execFileSync('bpftool', ['btf', 'dump', 'file', X86_OBJECT, 'format', 'c'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(x86.match(/^struct pt_regs \{[\s\S]*?^\};/m)?.[0]).toContain('orig_ax');
  });
});
