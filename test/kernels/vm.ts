// Boots a stock Debian kernel under QEMU and runs one command in it: the
// host's / shared read-only through virtiofs, the command chrooted there by
// test/kernels/init.sh, its output, exit status and the guest's kernel log
// back through a serial port. TCG, not KVM: /dev/kvm on these machines is a
// PVM hypervisor that cannot run stock kernels. Kernels come from
// scripts/kernels.sh (run by scripts/setup.sh).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const KERNEL_CACHE = process.env.PGFERRET_KERNEL_CACHE ?? '/var/cache/pgferret-kernels';
const QEMU = 'qemu-system-x86_64';
const VIRTIOFSD = '/usr/lib/qemu/virtiofsd';
const BUSYBOX = '/bin/busybox';
const INIT = path.join(__dirname, 'init.sh');
/** Loaded in this order where not built in (6.1 has them as modules, 6.12 built in). */
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_legacy_dev', 'virtio_pci_modern_dev', 'virtio_pci', 'fuse', 'virtiofs'];
const MEMORY_MB = 1024;

export interface Kernel {
  /** '6.1', '6.12' */
  series: string;
  /** uname -r of the guest, e.g. 6.1.0-57-cloud-amd64 */
  release: string;
  /** the extracted package: boot/, lib/modules/ */
  dir: string;
}

/** The kernels scripts/kernels.sh fetched: the newest of each series. Throws when there are none. */
export function matrixKernels(): Kernel[] {
  const file = path.join(KERNEL_CACHE, 'matrix');
  if (!fs.existsSync(file)) throw new Error(`no kernel matrix at ${file}: run scripts/setup.sh (it fetches the kernels with scripts/kernels.sh)`);
  const kernels = fs.readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
    const [series, release, dir] = line.split(' ');
    return { series, release, dir };
  });
  for (const k of kernels) {
    if (!fs.existsSync(vmlinuz(k))) throw new Error(`${file} names ${k.release} but ${vmlinuz(k)} is missing: run scripts/kernels.sh again`);
  }
  return kernels;
}

const vmlinuz = (k: Kernel) => path.join(k.dir, 'boot', `vmlinuz-${k.release}`);

/** Throws, saying what to install, when QEMU, virtiofsd or busybox-static is missing. */
export function checkTools(): void {
  const missing: string[] = [];
  if (spawnSync(QEMU, ['--version']).status !== 0) missing.push(`${QEMU} (qemu-system-x86)`);
  if (!fs.existsSync(VIRTIOFSD)) missing.push(`${VIRTIOFSD} (qemu-system-x86)`);
  if (!fs.existsSync(BUSYBOX)) missing.push(`${BUSYBOX} (busybox-static)`);
  if (spawnSync('cpio', ['--version']).status !== 0) missing.push('cpio');
  if (missing.length) throw new Error(`the kernel matrix needs ${missing.join(', ')}: run scripts/setup.sh`);
}

/** Decompressed .ko files of MODULES the kernel does not have built in, in load order. */
function modulesFor(k: Kernel): { name: string; ko: Buffer }[] {
  const modDir = path.join(k.dir, 'lib', 'modules', k.release);
  const base = (p: string) => path.basename(p).replace(/\.ko(\.xz|\.zst)?$/, '');
  const builtin = new Set(fs.readFileSync(path.join(modDir, 'modules.builtin'), 'utf8').split('\n').map(base));
  const shipped = new Map(fs.readFileSync(path.join(modDir, 'modules.order'), 'utf8').split('\n').filter(Boolean).map((p) => [base(p), p]));
  return MODULES.filter((m) => !builtin.has(m)).map((name) => {
    const rel = shipped.get(name);
    if (!rel) throw new Error(`${k.release}: module ${name} is neither built in nor shipped`);
    const file = path.join(modDir, rel);
    for (const [ext, tool] of [['.xz', 'xz'], ['.zst', 'zstd'], ['', '']] as const) {
      if (!fs.existsSync(file + ext)) continue;
      if (!tool) return { name, ko: fs.readFileSync(file) };
      const r = spawnSync(tool, ['-dc', file + ext], { maxBuffer: 64 << 20 });
      if (r.status !== 0) throw new Error(`${tool} -dc ${file}${ext} failed: ${r.stderr}`);
      return { name, ko: r.stdout };
    }
    throw new Error(`${k.release}: ${file}(.xz|.zst) is missing`);
  });
}

/** An uncompressed newc initramfs: busybox, /init, the modules. */
function buildInitramfs(k: Kernel, workDir: string): string {
  const root = path.join(workDir, 'initramfs');
  fs.mkdirSync(path.join(root, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(root, 'modules'));
  fs.copyFileSync(BUSYBOX, path.join(root, 'bin', 'busybox'));
  fs.chmodSync(path.join(root, 'bin', 'busybox'), 0o755);
  fs.copyFileSync(INIT, path.join(root, 'init'));
  fs.chmodSync(path.join(root, 'init'), 0o755);
  const mods = modulesFor(k);
  for (const m of mods) fs.writeFileSync(path.join(root, 'modules', `${m.name}.ko`), m.ko);
  fs.writeFileSync(path.join(root, 'modules.list'), mods.map((m) => `${m.name}\n`).join(''));
  const out = path.join(workDir, 'initramfs.cpio');
  const r = spawnSync('sh', ['-c', `find . | cpio -o -H newc -R 0:0 --quiet > ${JSON.stringify(out)}`], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
  return out;
}

export interface GuestRun {
  kernel: Kernel;
  status: number;
  stdout: string;
  stderr: string;
  /** the guest's whole kernel log, read after the command */
  dmesg: string;
  /** everything the console printed */
  console: string;
  /** QEMU start to the host root mounted in the guest */
  bootMs: number;
  /** QEMU start to power-off */
  totalMs: number;
}

export interface RunOptions {
  /** kill everything after this long (default 10 min) */
  timeoutMs?: number;
  /** the guest must have mounted the host's root within this (default 2 min) */
  bootTimeoutMs?: number;
  /** called with each console line as it comes (progress) */
  onConsole?: (line: string) => void;
}

const tail = (text: string, n = 30) => text.split('\n').slice(-n).join('\n');

function kill(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once('exit', () => r());
    child.kill('SIGKILL');
  });
}

async function waitForFile(file: string, ms: number, child: ChildProcess, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!fs.existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`virtiofsd exited (${child.exitCode}) before listening:\n${what()}`);
    if (Date.now() > deadline) throw new Error(`virtiofsd did not create ${file} within ${ms / 1000} s:\n${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Parses the report init.sh writes to ttyS1. */
function parseReport(data: string): { status: number; stdout: string; stderr: string; dmesg: string } | { initFailed: string } | null {
  const failed = /===PGFERRET-INIT-FAILED (.*)===/.exec(data);
  if (failed) return { initFailed: failed[1] };
  const m = /===PGFERRET-EXIT (\d+)===\s*===PGFERRET-STDOUT===([\s\S]*?)===PGFERRET-STDERR===([\s\S]*?)===PGFERRET-DMESG===([\s\S]*?)===PGFERRET-END===/.exec(data);
  if (!m) return null;
  const b64 = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'base64').toString('utf8');
  return { status: Number(m[1]), stdout: b64(m[2]), stderr: b64(m[3]), dmesg: b64(m[4]) };
}

/**
 * Boots `kernel` with `command` (a /bin/sh command line run as root in the
 * host's root, read-only, with tmpfs on /tmp, /run and /var/tmp) and returns
 * what it printed and its exit status. Throws, with the last console lines,
 * when the guest panics, cannot mount the host's root, or runs out of time.
 */
export async function runInGuest(kernel: Kernel, command: string, opts: RunOptions = {}): Promise<GuestRun> {
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;
  const bootTimeoutMs = opts.bootTimeoutMs ?? 2 * 60_000;
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-vm-'));
  const socket = path.join(workDir, 'virtiofs.sock');
  const dataFile = path.join(workDir, 'ttyS1');
  let virtiofsd: ChildProcess | undefined;
  let qemu: ChildProcess | undefined;
  let consoleText = '';
  let vfsOut = '';
  try {
    const initrd = buildInitramfs(kernel, workDir);
    const append = [
      'console=ttyS0', 'panic=1', // a panic reboots, and -no-reboot makes QEMU exit
      `pgferret.cmd=${Buffer.from(command).toString('base64')}`,
    ].join(' ');
    if (append.length > 2000) throw new Error(`the command is too long for the kernel command line (${append.length} bytes)`);

    virtiofsd = spawn(VIRTIOFSD, [`--socket-path=${socket}`, '-o', 'source=/', '-o', 'cache=always', '-o', 'sandbox=chroot'], { stdio: ['ignore', 'pipe', 'pipe'] });
    virtiofsd.stdout!.on('data', (d) => { vfsOut += d; });
    virtiofsd.stderr!.on('data', (d) => { vfsOut += d; });
    await waitForFile(socket, 5000, virtiofsd, () => vfsOut);

    const started = Date.now();
    qemu = spawn(QEMU, [
      '-nodefaults', '-display', 'none', '-no-reboot', '-nic', 'none',
      // PGFERRET_QEMU_CPU (e.g. qemu64): another emulated CPU, to tell an emulation quirk from a kernel's behaviour
      '-accel', 'tcg,tb-size=256', '-cpu', process.env.PGFERRET_QEMU_CPU ?? 'max', '-smp', '1', '-m', String(MEMORY_MB),
      // vhost-user needs the guest's memory shared with virtiofsd
      '-object', `memory-backend-memfd,id=mem,size=${MEMORY_MB}M,share=on`, '-numa', 'node,memdev=mem',
      '-chardev', `socket,id=vfs,path=${socket}`, '-device', 'vhost-user-fs-pci,chardev=vfs,tag=hostroot',
      '-serial', 'stdio', '-serial', `file:${dataFile}`,
      '-kernel', vmlinuz(kernel), '-initrd', initrd, '-append', append,
    ], { stdio: ['pipe', 'pipe', 'pipe'] });
    let bootMs = 0;
    let partial = '';
    const onText = (d: Buffer) => {
      const text = d.toString('utf8').replace(/\r/g, '');
      consoleText += text;
      partial += text;
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!bootMs && line.includes('pgferret-init: host root mounted')) bootMs = Date.now() - started;
        opts.onConsole?.(line);
      }
    };
    qemu.stdout!.on('data', onText);
    qemu.stderr!.on('data', onText);

    const failure = await new Promise<string | null>((resolve) => {
      const timer = setInterval(() => {
        const elapsed = Date.now() - started;
        const panic = /Kernel panic - not syncing.*/.exec(consoleText);
        if (panic) {
          // let the panic's trace reach the console first
          setTimeout(() => resolve(`kernel panic after ${Math.round(elapsed / 1000)} s: ${panic[0]}`), 500);
          clearInterval(timer);
        } else if (!bootMs && elapsed > bootTimeoutMs) {
          resolve(`the guest did not mount the host's root within ${bootTimeoutMs / 1000} s`);
        } else if (elapsed > timeoutMs) {
          resolve(`timed out after ${Math.round(elapsed / 1000)} s`);
        }
      }, 200);
      qemu!.once('exit', (code, signal) => {
        clearInterval(timer);
        resolve(code === 0 ? null : `QEMU exited with ${code ?? signal}`);
      });
    });
    const totalMs = Date.now() - started;
    await kill(qemu);
    const where = `${kernel.release}: `;
    const lastLines = () => `\n--- last console lines ---\n${tail(consoleText)}${vfsOut ? `\n--- virtiofsd ---\n${tail(vfsOut, 10)}` : ''}`;
    if (failure) throw new Error(`${where}${failure}${lastLines()}`);
    const report = parseReport(fs.existsSync(dataFile) ? fs.readFileSync(dataFile, 'utf8') : '');
    if (!report) throw new Error(`${where}the guest powered off without a complete report${lastLines()}`);
    if ('initFailed' in report) throw new Error(`${where}${report.initFailed}${lastLines()}`);
    return { kernel, ...report, console: consoleText, bootMs, totalMs };
  } finally {
    await kill(qemu);
    await kill(virtiofsd);
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

// By hand, to look into one kernel:
//   node -r ./test/kernels/ts-register.js test/kernels/vm.ts 6.1 'bpftool prog list'
// The guest sees the host's files, but its /tmp is its own: keep scripts elsewhere.
if (require.main === module) {
  const [series, command] = process.argv.slice(2);
  const kernel = matrixKernels().find((k) => k.series === series);
  if (!kernel || !command) {
    process.stderr.write(`usage: vm.ts <${matrixKernels().map((k) => k.series).join('|')}> '<shell command>'\n`);
    process.exit(2);
  }
  runInGuest(kernel, command, { onConsole: (l) => process.stderr.write(`${l}\n`) }).then(
    (r) => {
      process.stdout.write(r.stdout);
      process.stderr.write(`[vm] ${kernel.release}: exit ${r.status}; booted in ${(r.bootMs / 1000).toFixed(1)} s, ${(r.totalMs / 1000).toFixed(1)} s in all\n`);
      process.exit(r.status);
    },
    (e) => {
      process.stderr.write(`[vm] ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
