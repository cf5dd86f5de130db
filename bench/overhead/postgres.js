// A throwaway Debian PostgreSQL 15 cluster (the USDT build the collector
// attaches to), owned by the `postgres` user, on a free loopback port and a
// private Unix socket directory, initialised with pgbench tables.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const BIN = '/usr/lib/postgresql/15/bin';

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(cmd, args) {
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--pdeathsig=KILL', '--', cmd, ...args]];
}

function run(cmd, args) {
  const [c, a] = asPostgres(cmd, args);
  const r = spawnSync(c, a, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** settings: extra `-c` settings; scale: pgbench -i scale factor. */
async function startCluster({ settings = {}, scale = 10, log = () => {} }) {
  if (!fs.existsSync(path.join(BIN, 'postgres'))) {
    throw new Error(`Debian PostgreSQL 15 is not installed (${BIN}/postgres missing): run scripts/setup.sh`);
  }
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-bench-'));
  fs.chmodSync(root, 0o755);
  const dataDir = path.join(root, 'data');
  spawnSync('chown', ['postgres:postgres', root]);
  run(path.join(BIN, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);

  const port = await freePort();
  const all = { listen_addresses: '127.0.0.1', unix_socket_directories: root, ...settings };
  const args = ['-D', dataDir, '-p', String(port)];
  for (const [k, v] of Object.entries(all)) args.push('-c', `${k}=${v}`);
  const [c, a] = asPostgres(path.join(BIN, 'postgres'), args);
  // the server log goes to a file: a pipe left unread while a synchronous
  // step runs would fill up and stall the server
  const logFile = path.join(root, 'server.log');
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(c, a, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  const text = () => fs.readFileSync(logFile, 'utf8');
  const deadline = Date.now() + 30000;
  while (!/ready to accept connections/.test(text())) {
    if (child.exitCode !== null) throw new Error(`postgres exited while starting:\n${text()}`);
    if (Date.now() > deadline) throw new Error(`postgres did not start within 30 s:\n${text()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const cluster = {
    port, socketDir: root, dataDir, pid: child.pid, bin: BIN,
    serverLog: text,
    /** connection arguments for psql/pgbench: the Unix socket, as postgres */
    connArgs: ['-h', root, '-p', String(port), '-U', 'postgres'],
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      }
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  log(`postgres 15 pid ${child.pid} on port ${port}; pgbench -i -s ${scale}`);
  const init = spawnSync(path.join(BIN, 'pgbench'), ['-i', '-q', '-s', String(scale), ...cluster.connArgs, 'postgres'], { encoding: 'utf8' });
  if (init.status !== 0) {
    await cluster.stop();
    throw new Error(`pgbench -i failed:\n${init.stderr}`);
  }
  return cluster;
}

module.exports = { startCluster, freePort, BIN };
