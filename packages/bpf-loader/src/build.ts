// Compiling BPF C: a vmlinux.h generated from the running kernel's BTF
// (cached per BTF content) and an incremental clang -target bpf build.
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpfError } from './errors';
import { BTF_PATH } from './explain';

const TARGET_ARCH: Record<string, { bpf: string; multiarch: string }> = {
  x64: { bpf: 'x86', multiarch: 'x86_64-linux-gnu' },
  arm64: { bpf: 'arm64', multiarch: 'aarch64-linux-gnu' },
};

let vmlinuxDir: string | undefined;

function writableDir(dir: string): boolean {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Atomic write: concurrent builds never see a half-written file. */
function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

/**
 * Directory holding vmlinux.h for the running kernel, generated with
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c` and cached under
 * the package's build/ directory (or the temp dir), keyed by the BTF's hash.
 */
export function vmlinuxHeaderDir(): string {
  if (vmlinuxDir) return vmlinuxDir;
  if (!fs.existsSync(BTF_PATH))
    throw new BpfError('NO_BTF', `this kernel exposes no BTF (${BTF_PATH} is missing): run a kernel built with CONFIG_DEBUG_INFO_BTF=y (most distribution kernels since 5.8 are)`);
  const hash = crypto.createHash('sha256').update(fs.readFileSync(BTF_PATH)).digest('hex').slice(0, 16);
  const packageCache = path.join(__dirname, '..', 'build', 'vmlinux');
  const base = writableDir(packageCache) ? packageCache : path.join(os.tmpdir(), 'pgferret-vmlinux');
  const dir = path.join(base, hash);
  const header = path.join(dir, 'vmlinux.h');
  if (!fs.existsSync(header)) {
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync('bpftool', ['btf', 'dump', 'file', BTF_PATH, 'format', 'c'], { maxBuffer: 512 * 1024 * 1024 });
    if (r.error) {
      const code = (r.error as NodeJS.ErrnoException).code === 'ENOENT' ? 'BPFTOOL_NOT_FOUND' : 'VMLINUX_FAILED';
      throw new BpfError(code, `could not run bpftool to generate vmlinux.h (${r.error.message}): install it (Debian/Ubuntu: apt-get install bpftool or linux-tools-common)`);
    }
    if (r.status !== 0) throw new BpfError('VMLINUX_FAILED', `bpftool btf dump failed: ${r.stderr.toString().trim()}; check that ${BTF_PATH} is readable (run as root)`);
    writeAtomic(header, r.stdout);
  }
  vmlinuxDir = dir;
  return dir;
}

export interface BuildOptions {
  /** BPF C source file. */
  source: string;
  /** Object file to write (e.g. foo.bpf.o). */
  output: string;
  includeDirs?: string[];
  /** -D<name>=<value> */
  defines?: Record<string, string>;
}

/** Make-style dependency file written by clang -MD: "target: dep dep \\\n dep". */
function parseDeps(text: string): string[] {
  const body = text.replace(/\\\n/g, ' ');
  const colon = body.indexOf(': ');
  return body
    .slice(colon + 2)
    .split(/(?<!\\)\s+/)
    .filter(Boolean)
    .map((d) => d.replace(/\\ /g, ' '));
}

function upToDate(output: string, depFile: string, cmdFile: string, command: string): boolean {
  try {
    if (fs.readFileSync(cmdFile, 'utf8') !== command) return false;
    const built = fs.statSync(output).mtimeMs;
    return parseDeps(fs.readFileSync(depFile, 'utf8')).every((d) => fs.statSync(d).mtimeMs <= built);
  } catch {
    return false;
  }
}

/**
 * Compiles BPF C with `clang -target bpf -O2 -g -D__TARGET_ARCH_<arch>` against
 * the running kernel's vmlinux.h. Incremental: skipped when the output is newer
 * than the source and every header it included, with the same flags.
 */
export function buildBpfObject(o: BuildOptions): void {
  if (!o || typeof o.source !== 'string' || typeof o.output !== 'string')
    throw new BpfError('BAD_ARGUMENT', 'buildBpfObject needs { source, output } paths');
  const source = path.resolve(o.source);
  const output = path.resolve(o.output);
  if (!fs.existsSync(source)) throw new BpfError('SOURCE_NOT_FOUND', `BPF source ${source} does not exist: fix the path`);
  const arch = TARGET_ARCH[process.arch];
  if (!arch) throw new BpfError('BAD_ARGUMENT', `unsupported CPU architecture ${process.arch}: supported are ${Object.keys(TARGET_ARCH).join(', ')}`);

  const args = ['-target', 'bpf', '-O2', '-g', `-D__TARGET_ARCH_${arch.bpf}`, '-I', vmlinuxHeaderDir()];
  for (const dir of o.includeDirs ?? []) args.push('-I', path.resolve(dir));
  for (const [k, v] of Object.entries(o.defines ?? {})) args.push(`-D${k}=${v}`);
  // <asm/...> headers pulled in by libbpf's usdt.bpf.h live in the multiarch dir.
  const multiarch = `/usr/include/${arch.multiarch}`;
  if (fs.existsSync(multiarch)) args.push('-idirafter', multiarch);
  args.push('-c', source);

  const depFile = `${output}.d`;
  const cmdFile = `${output}.cmd`;
  const command = JSON.stringify(args);
  if (upToDate(output, depFile, cmdFile, command)) return;

  fs.mkdirSync(path.dirname(output), { recursive: true });
  const tmp = `${output}.${process.pid}.tmp`;
  const r = spawnSync('clang', [...args, '-MD', '-MF', depFile, '-o', tmp], { encoding: 'utf8' });
  if (r.error) {
    const missing = (r.error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new BpfError(missing ? 'CLANG_NOT_FOUND' : 'COMPILE_FAILED', missing ? 'clang is not installed: install it (Debian/Ubuntu: apt-get install clang llvm)' : `could not run clang: ${r.error.message}`);
  }
  if (r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new BpfError('COMPILE_FAILED', `clang failed to compile ${source}:\n${r.stderr.trim()}\nFix the errors above in the BPF C source`);
  }
  fs.renameSync(tmp, output);
  fs.writeFileSync(cmdFile, command);
}
