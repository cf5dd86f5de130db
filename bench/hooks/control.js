// A control arm: one empty BPF program (control.bpf.c) attached to one
// tracepoint, in a child process shaped like the collector's (pid, stop), so
// the A/B rounds and bpf_stats treat it the same way.
//   node bench/hooks/control.js <object> <program>   (prints "ready", detaches on SIGINT)
'use strict';
const { spawn } = require('node:child_process');
const path = require('node:path');

// program -> [category, name] of its tracepoint
const TRACEPOINTS = {
  empty_sys_exit: ['raw_syscalls', 'sys_exit'],
  empty_sched_switch: ['sched', 'sched_switch'],
  empty_exit_recvfrom: ['syscalls', 'sys_exit_recvfrom'],
};

/** Compiles control.bpf.c into workDir (loader's incremental clang build). */
function buildControl(workDir) {
  const { buildBpfObject } = require('@pgferret/bpf-loader');
  const output = path.join(workDir, 'control.bpf.o');
  buildBpfObject({ source: path.join(__dirname, 'control.bpf.c'), output });
  return output;
}

function startControl(object, program) {
  if (!TRACEPOINTS[program]) throw new Error(`unknown control program '${program}': use ${Object.keys(TRACEPOINTS).join(', ')}`);
  const child = spawn(process.execPath, [__filename, object, program], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`control ${program} exited (${code}): ${err}`)));
    child.stdout.once('data', () => resolve({
      pid: child.pid,
      async stop() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await exited;
      },
    }));
  });
}

module.exports = { buildControl, startControl };

if (require.main === module) {
  const { BpfObject } = require('@pgferret/bpf-loader');
  const [object, program] = process.argv.slice(2);
  const [category, name] = TRACEPOINTS[program];
  const obj = BpfObject.open(object);
  obj.load();
  obj.attachTracepoint({ program, category, name });
  process.stdout.write('ready\n');
  process.on('SIGINT', () => {
    obj.close(); // detaches
    process.exit(0);
  });
  setInterval(() => {}, 1 << 30); // stay alive until SIGINT
}
