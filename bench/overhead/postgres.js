// A throwaway Debian PostgreSQL cluster (the USDT build the collector
// attaches to), initialised with pgbench tables. The cluster itself comes from
// the collector's module: needs `npx tsc -b` first.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { debianBinDir, freePort, startCluster: startPg, userIds } = require('../../packages/demo/dist/cluster.js');

/** A self-signed certificate in dir, owned by postgres (the server refuses a key others can read). */
function certificate(dir) {
  const cert = path.join(dir, 'server.crt');
  const key = path.join(dir, 'server.key');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr}`);
  const ids = userIds('postgres');
  fs.chmodSync(key, 0o600);
  if (ids) for (const f of [cert, key]) fs.chownSync(f, ids.uid, ids.gid);
  return { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key };
}

/** settings: extra `-c` settings; scale: pgbench -i scale factor; tls: a directory for a certificate (clients then connect over TCP with sslmode=require). */
async function startCluster({ settings = {}, scale = 10, log = () => {}, tls = null, tcp = false }) {
  const pg = await startPg({ binDir: debianBinDir(), settings: tls ? { ...settings, ...certificate(tls) } : settings });
  const cluster = {
    port: pg.port, pid: pg.pid, bin: pg.binDir,
    /** connection arguments for psql/pgbench: the Unix socket (TCP with TLS), as postgres */
    connArgs: ['-h', tls || tcp ? '127.0.0.1' : pg.dir, '-p', String(pg.port), '-U', 'postgres'],
    env: tls ? { PGSSLMODE: 'require' } : {},
    stop: pg.stop,
  };
  log(`postgres ${pg.major} pid ${pg.pid} on port ${pg.port}; pgbench -i -s ${scale}`);
  const init = spawnSync(path.join(pg.binDir, 'pgbench'), ['-i', '-q', '-s', String(scale), ...cluster.connArgs, 'postgres'], { encoding: 'utf8', env: { ...process.env, ...cluster.env } });
  if (init.status !== 0) {
    await pg.stop();
    throw new Error(`pgbench -i failed:\n${init.stderr}`);
  }
  return cluster;
}

module.exports = { startCluster, freePort };
