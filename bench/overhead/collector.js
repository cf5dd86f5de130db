// The collector under test as a separate process, started for a B round and
// stopped after it, so A rounds run with no probe installed at all.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { freePort } = require('./postgres');

const DIST = path.join(__dirname, '..', '..', 'packages', 'collector', 'dist');
const CLI = path.join(DIST, 'cli.js');
const TICK_S = 0.01; // USER_HZ is 100 on Linux

/** utime+stime of a live process, seconds */
function cpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_S;
}

/** cutime+cstime: CPU of the children this process has reaped, seconds */
function reapedChildrenCpuSeconds(pid) {
  const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) * TICK_S;
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function getStatus(stateDir) {
  return require(path.join(DIST, 'admin', 'server')).callAdmin(stateDir, '/status');
}

/**
 * mode 'otlp': exports to `endpoint` (the bench's sink); mode 'embedded':
 * embedded store in a fresh directory. Resolves once the cluster is attached (its backends followed at the socket).
 */
/** The collector CLI of a built checkout (`--base`), or of this one. */
function collectorCli(checkout) {
  return checkout ? path.join(path.resolve(checkout), 'packages', 'collector', 'dist', 'cli.js') : CLI;
}

async function startCollector({ mode, pgPort, endpoint, extraArgs = [], nodeArgs = [], cli = CLI, extraEnv = {} }) {
  if (!fs.existsSync(cli)) throw new Error(`${cli} is missing: build that collector first (npx tsc -b at its repo root)`);
  // a fresh state directory (admin socket, embedded store) per round
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-bench-state-'));
  const args = [...nodeArgs, cli, 'run', '--port', String(pgPort), '--state-dir', stateDir, ...extraArgs];
  const env = { ...process.env, ...extraEnv };
  delete env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (mode === 'otlp') {
    env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  } else {
    args.push('--otlp-port', String(await freePort()), '--ui-port', String(await freePort()));
  }
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => { log += d; });
  const removeStore = () => fs.rmSync(stateDir, { recursive: true, force: true });
  const deadline = Date.now() + 30000;
  for (;;) {
    let failure = null;
    if (child.exitCode !== null) failure = `collector exited (${child.exitCode}) while starting:\n${log}`;
    else if (Date.now() > deadline) failure = `collector did not attach within 30 s:\n${log}`;
    const st = failure ? null : await getStatus(stateDir).catch(() => null);
    const cluster = st?.clusters.find((c) => c.port === pgPort);
    if (cluster?.error) failure = `collector could not attach: ${cluster.error}`;
    if (failure) {
      child.kill('SIGKILL');
      removeStore();
      throw new Error(failure);
    }
    if (cluster?.probeSet && st.binaries.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid,
    mode,
    status: () => getStatus(stateDir),
    log: () => log,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(t);
      }
      removeStore();
    },
  };
}

module.exports = { startCollector, collectorCli, cpuSeconds, reapedChildrenCpuSeconds, rssKiB };
