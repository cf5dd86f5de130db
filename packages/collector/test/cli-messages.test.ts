// What the command line says about bad input: the value, what is allowed and
// what to do — never a Node internal, a JSON parse error, or a hang.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { makeDir } from '../src/io/make-dir';

const CLI = path.resolve(__dirname, '..', 'dist', 'cli.js');

function cli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`pgferret-collector ${args.join(' ')} still running after ${timeoutMs} ms:\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

// ports 0: nothing binds a fixed port; the option checks run before anything listens
const QUIET = ['--otlp-port', '0', '--ui-port', '0', '--port', '1'];

test('a port above 65535 is refused with the allowed range', async () => {
  const r = await cli(['run', '--ui-port', '99999']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/--ui-port must be at most 65535 \(0 picks a free port\)/);
  expect(r.stderr).not.toMatch(/ERR_SOCKET|RangeError|at .*node:/);
});

test('--max-query-text above what the kernel side reads is refused, not clamped', async () => {
  const r = await cli(['run', '--max-query-text', '10000']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/--max-query-text must be at most 4095/);
});

test('status against something that is not the admin API says so and what to pass', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-not-admin-'));
  const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>hello</html>'));
  await new Promise<void>((r) => server.listen(path.join(dir, 'admin.sock'), () => r()));
  try {
    const r = await cli(['status', '--state-dir', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/answered HTTP 200 with text\/html, not a pgferret collector's admin API: pass the --state-dir/);
    expect(r.stderr).not.toMatch(/JSON|Unexpected token/);
  } finally {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a state directory that cannot be made fails at once, naming --state-dir', async () => {
  const r = await cli(['run', '--state-dir', '/proc/nope/store', ...QUIET]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/cannot create the state directory \/proc\/nope\/store: ENOENT.*Choose a writable directory with --state-dir/);
  expect(r.ms).toBeLessThan(15_000);
});

test('makeDir creates missing parents and throws where mkdir fails (fs.mkdirSync recursive spins on /proc)', () => {
  expect(() => makeDir('/proc/nope/a/b')).toThrow(/ENOENT: no such file or directory, mkdir '\/proc\/nope'/);
  const base = path.join(os.tmpdir(), `pgferret-makedir-${process.pid}`);
  makeDir(path.join(base, 'a', 'b'));
  expect(fs.statSync(path.join(base, 'a', 'b')).isDirectory()).toBe(true);
  fs.rmSync(base, { recursive: true });
});
