// A throwaway Debian PostgreSQL cluster for the benchmark (same recipe as
// test/helpers/postgres.ts): temp dir, runs as `postgres`, loopback port.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function binDir() {
  const base = '/usr/lib/postgresql';
  const majors = fs.existsSync(base) ? fs.readdirSync(base).filter((d) => /^\d+$/.test(d)) : [];
  if (majors.length === 0) throw new Error('Debian PostgreSQL is not installed; run scripts/setup.sh');
  return path.join(base, majors.sort((a, b) => b - a)[0], 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer().on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const asPostgres = (cmd, args) =>
  process.getuid() === 0 ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--pdeathsig=KILL', '--', cmd, ...args]] : [cmd, args];

async function startPostgres() {
  const bin = binDir();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-bench-sdk-'));
  const data = path.join(root, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  if (process.getuid() === 0) {
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout);
    fs.chownSync(root, uid, gid);
    fs.chownSync(data, uid, gid);
  }
  const [icmd, iargs] = asPostgres(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync']);
  const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  const [cmd, args] = asPostgres(path.join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`, '-c', 'fsync=off',
  ]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const deadline = Date.now() + 30000;
  while (!/ready to accept connections/.test(log)) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`postgres did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGINT');
      await exited;
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

module.exports = { startPostgres };
