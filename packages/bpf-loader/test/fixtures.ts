// Builds the test's BPF objects and C target once per run (incrementally,
// under build/test-fixtures) and drives target processes line by line.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { buildBpfObject } from '../src';

export const fixtures = path.join(__dirname, 'fixtures');
export const buildDir = path.join(__dirname, '..', 'build', 'test-fixtures');

export function bpfObject(name: string, defines?: Record<string, string>): string {
  const suffix = defines ? '-' + Object.entries(defines).map(([k, v]) => `${k}${v}`).join('-') : '';
  const output = path.join(buildDir, `${name}${suffix}.bpf.o`);
  buildBpfObject({ source: path.join(fixtures, `${name}.bpf.c`), output, defines });
  return output;
}

/** `fixtures/<source>` compiled with the host cc into build/test-fixtures/<out>, again only when the source changed. */
function compiled(source: string, out: string, flags: string[]): string {
  const dest = path.join(buildDir, out);
  const src = path.join(fixtures, source);
  if (!fs.existsSync(dest) || fs.statSync(dest).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(buildDir, { recursive: true });
    execFileSync('cc', ['-O2', ...flags, '-o', dest + '.tmp', src]);
    fs.renameSync(dest + '.tmp', dest);
  }
  return dest;
}

export function targetBinary(): string {
  // frame pointers: the perf_event test walks the user stack
  return compiled('target.c', 'pgft-target', ['-g', '-fno-omit-frame-pointer']);
}

/** The LD_PRELOAD library that makes the addon's large reallocations fail (fixtures/fail-realloc.c). */
export function failReallocLibrary(): string {
  return compiled('fail-realloc.c', 'fail-realloc.so', ['-shared', '-fPIC', '-ldl']);
}

/** File offset of a function (what uprobes take), from its symbol value and the LOAD segments. */
export function fileOffsetOf(binary: string, symbol: string): number {
  const nm = execFileSync('nm', [binary], { encoding: 'utf8' });
  const m = new RegExp(`^([0-9a-f]+) [tT] ${symbol}$`, 'm').exec(nm);
  if (!m) throw new Error(`${symbol} not in ${binary}`);
  const addr = parseInt(m[1], 16);
  const segs = execFileSync('readelf', ['-lW', binary], { encoding: 'utf8' });
  for (const line of segs.split('\n')) {
    const s = /^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x[0-9a-f]+\s+0x([0-9a-f]+)/.exec(line);
    if (!s) continue;
    const [off, vaddr, memsz] = [parseInt(s[1], 16), parseInt(s[2], 16), parseInt(s[3], 16)];
    if (addr >= vaddr && addr < vaddr + memsz) return addr - vaddr + off;
  }
  throw new Error(`no LOAD segment holds ${symbol}`);
}

export class Target {
  readonly pid: number;
  private readonly lines: AsyncIterableIterator<string>;

  private constructor(private readonly proc: ChildProcessWithoutNullStreams, lines: AsyncIterableIterator<string>, pid: number) {
    this.lines = lines;
    this.pid = pid;
  }

  static async start(binary = targetBinary()): Promise<Target> {
    const proc = spawn(binary, [], { stdio: 'pipe' });
    const lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await lines.next();
    const m = /^ready (\d+)$/.exec(String(first.value));
    if (!m) throw new Error(`target did not start: ${first.value}`);
    return new Target(proc, lines, Number(m[1]));
  }

  async send(command: string): Promise<string> {
    this.proc.stdin.write(command + '\n');
    const r = await this.lines.next();
    if (r.done) throw new Error('target exited');
    return r.value;
  }

  async call(text: string): Promise<number> {
    return Number((await this.send(`call ${text}`)).split(' ')[1]);
  }

  async semaphore(): Promise<number> {
    return Number((await this.send('sema')).split(' ')[1]);
  }

  stop(): void {
    this.proc.kill('SIGKILL');
  }
}

export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Runs test/fixtures/child.js (against dist/) through an optional wrapper command. */
export function runChild(mode: string, args: string[], wrapper: string[] = []): { ok: boolean; code?: string; message?: string; count?: number; records?: number; stats?: Record<string, unknown> } {
  const cmd = [...wrapper, process.execPath, path.join(fixtures, 'child.js'), mode, ...args];
  const out = execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', timeout: 20000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export function key32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}
