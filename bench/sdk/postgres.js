// A throwaway Debian PostgreSQL cluster for the benchmark, from the
// collector's module (same as the tests'): needs `npx tsc -b` first.
'use strict';
const { debianBinDir, startCluster } = require('../../packages/demo/dist/cluster.js');

async function startPostgres() {
  const pg = await startCluster({ binDir: debianBinDir() });
  return { url: pg.connectionString, stop: pg.stop };
}

module.exports = { startPostgres };
