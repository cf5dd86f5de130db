// `npm run demo` as a user runs it: a child process with an
// embedded PostgreSQL, real eBPF probes, the Express example and its traffic.
// It must print the UI's URL and the slow request's waterfall with the
// Postgres phases, and Ctrl-C must leave no process, probe or temp dir.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLI as COLLECTOR_CLI } from './helpers/collector';
import { startPostgres } from './helpers/postgres';

const REPO = path.resolve(__dirname, '..');
const CLI = path.join(REPO, 'packages', 'demo', 'dist', 'cli.js');

interface Demo {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited: Promise<number | null>;
  waitFor(what: string, re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

function startDemo(args: string[]): Demo {
  const env = { ...process.env };
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: async (what, re, timeoutMs = 60000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = re.exec(out + err);
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`demo: no ${what} (exit ${child.exitCode}):\n${out}\n${err}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** pids of processes whose parent is `ppid` (Postgres backends of a postmaster) */
function childrenOf(ppid: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const m = /^PPid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${d}/status`, 'utf8'));
      if (m && Number(m[1]) === ppid) out.push(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** example apps started for the demo's database (found by the DATABASE_URL in their environment) */
function appsFor(databaseUrl: string): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`DATABASE_URL=${databaseUrl}`)) out.push(Number(d));
    } catch {
      // exited while we looked
    }
  }
  return out;
}

/** the uprobe_multi links (Linux 6.6+) a live process holds, by their fdinfo (bpftool 7.1 cannot show them) */
function uprobeMultiLinks(pid: number): string[] {
  let fds: string[] = [];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return []; // exited: its links went with its fds
  }
  return fds.flatMap((fd) => {
    try {
      const info = fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
      return /^link_type:\s+u(ret)?probe_multi$/m.test(info) ? [info] : [];
    } catch {
      return [];
    }
  });
}

/** perf events (uprobes, tracepoints) and uprobe_multi links the kernel has attached for `ownerPid`, or uprobes on the binary of `postmasterPid` */
function probes(ownerPid: number, postmasterPid: number): unknown[] {
  const r = spawnSync('bpftool', ['perf', 'list', '-j'], { encoding: 'utf8' });
  expect(r.status).toBe(0);
  const all = JSON.parse(r.stdout || '[]') as { pid: number; filename?: string }[];
  return [...all.filter((p) => p.pid === ownerPid || p.filename === `/proc/${postmasterPid}/exe`), ...uprobeMultiLinks(ownerPid)];
}

const PORTS = ['--ui-port', '0', '--otlp-port', '0'];

test('demo: UI URL and the slow trace as text; Ctrl-C stops everything and leaves nothing behind', async () => {
  const demo = startDemo(PORTS);
  try {
    await demo.waitFor('"running" line', /demo running; Ctrl-C to stop it/);
    const [, pgPidText, databaseUrl] = await demo.waitFor('PostgreSQL pid', /PostgreSQL \d+ is up: pid (\d+), (\S+)/);
    const pgPid = Number(pgPidText);
    const appPid = Number((await demo.waitFor('app pid', /Express example is up: pid (\d+)/))[1]);
    const tmp = (await demo.waitFor('temp dir', /working in (\S+) /))[1];
    const uiUrl = (await demo.waitFor('UI URL', /pgferret web UI: (http:\/\/\S+)/))[1];
    const stateDir = (await demo.waitFor('admin API', /admin API on (\S+)\/admin\.sock/))[1];

    // every request of the burst is listed, the error one marked
    const out = demo.stdout();
    for (const route of ['GET /users/:id', 'GET /users ', 'GET /report', 'POST /orders', 'GET /lock']) expect(out).toContain(route);
    expect(out).toMatch(/GET \/error .* 1 PostgreSQL statement\s+error/);

    // the waterfall: HTTP span > handler > pg client span > Postgres statement > its phases
    const wf = out.slice(out.indexOf('The slowest /report request')).split('\n');
    const indent = (re: RegExp) => {
      const line = wf.find((l) => re.test(l));
      expect([re.source, line]).not.toEqual([re.source, undefined]);
      return line!.length - line!.trimStart().length;
    };
    const http = indent(/^GET \/report\s+█/);
    const pgClient = indent(/^\s+pg\.query:SELECT/);
    const statement = indent(/^\s+SELECT orders \[postgres\]/);
    expect(http).toBe(0);
    expect(pgClient).toBeGreaterThan(http);
    expect(statement).toBeGreaterThan(pgClient);
    for (const phase of ['parse', 'plan', 'execute', 'commit']) expect(indent(new RegExp(`^\\s+${phase}\\s`))).toBeGreaterThan(statement);
    // execute holds the time: its bar is the long one
    const bar = (name: string) => (wf.find((l) => new RegExp(`^\\s+${name}\\s`).test(l))!.match(/█/g) ?? []).length;
    expect(bar('execute')).toBeGreaterThan(bar('parse') * 10);
    // where its time went: off CPU in pg_sleep (its wait span), on CPU in the plan nodes of the join and aggregate (its profile)
    expect(wf.find((l) => /^\s+wait Timeout:PgSleep\s/.test(l))).toBeDefined();
    const profile = wf.find((l) => l.includes('│ CPU profile'));
    expect(profile).toMatch(/│ CPU profile, \d+ samples at 997 Hz: \d+ % in (Hash Join|Hash|Seq Scan|Aggregate|Sort|Nested Loop|Merge Join|Index Scan) \(\w+\); hottest functions: \w+ \d+ %/);
    expect(Number(/(\d+) samples/.exec(profile!)![1])).toBeGreaterThanOrEqual(5);
    // the demo's embedded PostgreSQL is built without frame pointers: the waterfall says its stacks stop short
    expect(profile).toMatch(/; stacks stop short \(\d+ of \d+ reach PostgresMain: a build without frame pointers\), so plan nodes are partial$/);

    // the /lock trace: the UPDATE's wait for the row lock, who held it (the request's other connection), linked
    const lockPart = out.slice(out.indexOf('A /lock request')).split('\n');
    expect(lockPart.find((l) => /^\s+wait Lock:transactionid\s/.test(l))).toBeDefined();
    expect(lockPart.join('\n')).toMatch(/waited [\d.]+ ms for a transactionid lock \(ShareLock\) held by pid \d+ \(SELECT stock FROM inventory WHERE sku = \$1 FOR UPDATE, idle in transaction, SELECT inventory in this trace\)/);

    // the UI serves the same store
    // the printed URL logs a browser in: its cookie then opens the API
    const login = await fetch(uiUrl, { redirect: 'manual' });
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const apiUrl = new URL('/api/traces?route=/report', uiUrl);
    expect((await fetch(apiUrl)).status).toBe(401);
    const list = (await (await fetch(apiUrl, { headers: { cookie } })).json()) as { traces: { rootName: string }[] };
    expect(list.traces.map((t) => t.rootName)).toEqual(['GET /report', 'GET /report']);
    // POST /orders: the trigger's INSERT is a statement nested in the order's INSERT
    const orders = (await (await fetch(new URL('/api/traces?route=/orders', uiUrl), { headers: { cookie } })).json()) as { traces: { traceId: string }[] };
    const nested = await Promise.all(orders.traces.map(async (t) => {
      const d = (await (await fetch(new URL(`/api/traces/${t.traceId}`, uiUrl), { headers: { cookie } })).json()) as { spans: { name: string; attributes: Record<string, unknown> }[] };
      return d.spans.filter((sp) => sp.attributes['postgresql.nesting.depth'] === 1).map((sp) => sp.attributes['db.query.text']);
    }));
    expect(nested.flat()).toContain('INSERT INTO order_events (order_id, what) VALUES (NEW.id, ?)');

    // what must be gone afterwards exists now
    expect([alive(pgPid), alive(appPid), fs.existsSync(tmp)]).toEqual([true, true, true]);
    expect(appsFor(databaseUrl)).toEqual([appPid]);
    expect(childrenOf(pgPid).length).toBeGreaterThan(0);
    expect(probes(demo.child.pid!, pgPid).length).toBeGreaterThan(0);

    const backends = childrenOf(pgPid);
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stderr()).toMatch(/stopped Express example[\s\S]*stopped collector[\s\S]*stopped PostgreSQL[\s\S]*stopped temp directory/);

    expect([pgPid, appPid, ...backends].filter(alive)).toEqual([]);
    expect(appsFor(databaseUrl)).toEqual([]);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(probes(demo.child.pid!, pgPid)).toEqual([]);
    const status = spawnSync(process.execPath, [COLLECTOR_CLI, 'status', '--state-dir', stateDir], { encoding: 'utf8' });
    expect(status.status).toBe(1);
    expect(status.stderr).toContain('no collector answers');
  } finally {
    if (demo.child.exitCode === null) {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
  }
});

test('demo: Ctrl-C while it is still starting stops what was started', async () => {
  const demo = startDemo([...PORTS, '--exit-after-traffic']);
  try {
    const [, pgPidText, databaseUrl] = await demo.waitFor('PostgreSQL pid', /PostgreSQL \d+ is up: pid (\d+), (\S+)/);
    const pgPid = Number(pgPidText);
    const tmp = (await demo.waitFor('temp dir', /working in (\S+) /))[1];
    // the example app is starting (seeding its tables) when Ctrl-C comes
    await demo.waitFor('app start', /starting the Express example/);
    await new Promise((r) => setTimeout(r, 300));
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.stdout()).not.toContain('The slowest');
    expect(alive(pgPid)).toBe(false);
    expect(appsFor(databaseUrl)).toEqual([]);
    expect(fs.existsSync(tmp)).toBe(false);
    expect(probes(demo.child.pid!, pgPid)).toEqual([]);
  } finally {
    if (demo.child.exitCode === null) {
      demo.child.kill('SIGKILL');
      await demo.exited;
    }
  }
});

test('demo --postgres-url --exit-after-traffic: traces the given server and leaves it running', async () => {
  const pg = await startPostgres({ flavor: 'debian' });
  try {
    const demo = startDemo([...PORTS, '--exit-after-traffic', '--postgres-url', pg.connectionString]);
    expect(await demo.exited).toBe(0);
    expect(demo.stderr()).toContain(`attached to PostgreSQL 15 (pid ${pg.pid}, port ${pg.port}`);
    expect(demo.stderr()).not.toContain('starting an embedded PostgreSQL');
    expect(demo.stdout()).toMatch(/SELECT orders \[postgres\][\s\S]*execute/);
    // not the demo's to stop
    expect(alive(pg.pid)).toBe(true);
    expect(probes(demo.child.pid!, pg.pid)).toEqual([]);
  } finally {
    await pg.stop();
  }
});

test('demo: a --postgres-url it cannot use is refused with what to do', async () => {
  const remote = startDemo([...PORTS, '--postgres-url', 'postgres://db.example.com:5432/app']);
  expect(await remote.exited).toBe(1);
  expect(remote.stderr()).toMatch(/traces PostgreSQL processes on this machine only.*127\.0\.0\.1/);
  const tmp = /working in (\S+) /.exec(remote.stderr())![1];
  expect(fs.existsSync(tmp)).toBe(false);

  const garbage = startDemo([...PORTS, '--postgres-url', 'not a url']);
  expect(await garbage.exited).toBe(1);
  expect(garbage.stderr()).toContain('is not a URL: use the form postgres://');
});
