// The workloads: load.c, compiled at bench time, one process tree per run.
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');

const CPUS = os.cpus().length;

// workers: processes doing ops side by side (ns per op is per worker).
// cpu fills every vCPU, so an idle collector's own CPU use would show too;
// pingpong is pinned to one vCPU: exactly 2 context switches per round trip,
// and the same placement in every round.
const WORKLOADS = {
  cpu: { unit: 'ops/s', args: (s) => ['cpu', String(s), String(CPUS)], workers: CPUS },
  syscall: { unit: 'syscalls/s', args: (s) => ['syscall', String(s)], workers: 1 },
  pingpong: { unit: 'round trips/s', args: (s) => ['pingpong', String(s), String(CPUS - 1)], workers: 1 },
};

function compile(workDir) {
  const bin = path.join(workDir, 'load');
  for (const cc of ['cc', 'gcc', 'clang']) {
    const r = spawnSync(cc, ['-O2', '-Wall', '-o', bin, path.join(__dirname, 'load.c')], { encoding: 'utf8' });
    if (r.status === 0) return bin;
    if (r.error?.code !== 'ENOENT') throw new Error(`${cc} failed on load.c:\n${r.stderr}`);
  }
  throw new Error('no C compiler (cc, gcc, clang) on PATH');
}

/** Runs one workload; resolves with its JSON line plus opsPerSec. */
function runLoad(bin, workload, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, WORKLOADS[workload].args(seconds), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`load ${workload} exited ${code}: ${err}`));
      const r = JSON.parse(out);
      resolve({ ...r, opsPerSec: r.ops / r.seconds, switchesPerOp: r.switches / r.ops });
    });
  });
}

module.exports = { WORKLOADS, compile, runLoad };
