// A throwaway Debian PostgreSQL cluster (the USDT build the collector
// attaches to), initialised with pgbench tables. The cluster itself comes from
// the collector's module: needs `npx tsc -b` first.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { debianBinDir, freePort, startCluster: startPg } = require('../../packages/demo/dist/cluster.js');

/** settings: extra `-c` settings; scale: pgbench -i scale factor. */
async function startCluster({ settings = {}, scale = 10, log = () => {} }) {
  const pg = await startPg({ binDir: debianBinDir(), settings });
  const cluster = {
    port: pg.port, pid: pg.pid, bin: pg.binDir,
    /** connection arguments for psql/pgbench: the Unix socket, as postgres */
    connArgs: ['-h', pg.dir, '-p', String(pg.port), '-U', 'postgres'],
    stop: pg.stop,
  };
  log(`postgres ${pg.major} pid ${pg.pid} on port ${pg.port}; pgbench -i -s ${scale}`);
  const init = spawnSync(path.join(pg.binDir, 'pgbench'), ['-i', '-q', '-s', String(scale), ...cluster.connArgs, 'postgres'], { encoding: 'utf8' });
  if (init.status !== 0) {
    await pg.stop();
    throw new Error(`pgbench -i failed:\n${init.stderr}`);
  }
  return cluster;
}

module.exports = { startCluster, freePort };
