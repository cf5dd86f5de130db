// What one probe hit costs the probed process, per kind of probe point the
// phase probes can sit on (loop.c has one function per kind): the process's
// CPU time per call with the probe attached (pid-filtered, one small program
// per hit: traps.bpf.c) minus the same loop with none. Arms run in fresh
// processes, interleaved and rotated round by round; medians reported. The
// program's hit counter is checked against the calls made, so an arm whose
// probe did not fire fails instead of reporting a free hit.
//   flock /work/bench.lock node bench/traps [--rounds 8] [--calls 500000] [--out file.json]
'use strict';
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { BpfObject, buildBpfObject } = require('@pgferret/bpf-loader');
const { readElf, functionOffset } = require('../../packages/collector/dist/discover/elf');

// arm: the function the loop calls, where the probes sit, and the program runs per call
const ARMS = {
  none: { fn: 'f_rbp', probes: [], runs: 0 },
  'entry push %rbp': { fn: 'f_rbp', probes: [{ at: 'f_rbp' }], runs: 1 },
  'entry push %rbx': { fn: 'f_rbx', probes: [{ at: 'f_rbx' }], runs: 1 },
  'nop (1 byte, USDT site)': { fn: 'f_nop1', probes: [{ at: 'site1' }], runs: 1 },
  'nop (5 bytes)': { fn: 'f_nop5', probes: [{ at: 'site5' }], runs: 1 },
  'entry endbr64': { fn: 'f_cet', probes: [{ at: 'f_cet' }], runs: 1 },
  'the push after endbr64': { fn: 'f_cet', probes: [{ at: 'f_cet_push' }], runs: 1 },
  'entry mov (single-stepped)': { fn: 'f_mov', probes: [{ at: 'f_mov' }], runs: 1 },
  'two hits: entry push + nop': { fn: 'f_nop1', probes: [{ at: 'f_nop1' }, { at: 'site1' }], runs: 2 },
  'entry + return (push %rbp)': { fn: 'f_rbp', probes: [{ at: 'f_rbp' }, { at: 'f_rbp', retprobe: true }], runs: 2 },
  'return only (push %rbp)': { fn: 'f_rbp', probes: [{ at: 'f_rbp', retprobe: true }], runs: 1 },
};

function parseArgs(argv) {
  const o = { rounds: 8, calls: 500000, out: null };
  for (let i = 2; i < argv.length; i += 2) {
    const [k, v] = [argv[i], argv[i + 1]];
    if (v === undefined) throw new Error(`${k} needs a value (see the header of bench/traps/index.js)`);
    if (k === '--out') o.out = v;
    else if (k === '--rounds' || k === '--calls') {
      const n = Number(v);
      if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${k} needs a positive integer, got '${v}'`);
      o[k.slice(2)] = n;
    } else throw new Error(`unknown option ${k}: see the header of bench/traps/index.js`);
  }
  return o;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function once(obj, bin, elf, arm, calls) {
  const p = spawn(bin, [arm.fn, String(calls)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise((r) => p.on('exit', r));
  const pid = await new Promise((r) => p.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const hits = obj.map('hits');
  const zero = Buffer.alloc(4);
  const before = hits.lookup(zero).readBigUInt64LE(0);
  const links = arm.probes.map((x) => obj.attachUprobe({ program: x.retprobe ? 'on_return' : 'on_entry', binaryPath: bin, offset: functionOffset(elf, x.at), pid, retprobe: !!x.retprobe }));
  p.stdin.write('go\n');
  const code = await exited;
  for (const l of links) l.release();
  if (code !== 0) throw new Error(`loop ${arm.fn} exited with ${code}: ${err}`);
  const ran = Number(hits.lookup(zero).readBigUInt64LE(0) - before);
  if (ran !== arm.runs * calls) throw new Error(`${arm.fn}: the program ran ${ran} times for ${calls} calls, expected ${arm.runs * calls}: the probe did not fire as attached`);
  return Number(err.trim());
}

(async () => {
  const o = parseArgs(process.argv);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-traps-'));
  const bin = path.join(work, 'loop');
  execFileSync('cc', ['-O2', '-o', bin, path.join(__dirname, 'loop.c')]);
  buildBpfObject({ source: path.join(__dirname, 'traps.bpf.c'), output: path.join(work, 'traps.bpf.o') });
  const obj = BpfObject.open(path.join(work, 'traps.bpf.o'));
  obj.load();
  const elf = readElf(bin);
  const names = Object.keys(ARMS);
  const ns = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < o.rounds; r++) {
    const order = names.map((_, i) => names[(i + r) % names.length]);
    for (const n of order) ns[n].push(await once(obj, bin, elf, ARMS[n], o.calls));
    process.stderr.write(`[traps] round ${r + 1}/${o.rounds}\n`);
  }
  obj.close();
  const base = median(ns.none);
  const rows = names.map((n) => ({ arm: n, nsPerCall: median(ns[n]), extraNsPerCall: median(ns[n]) - base, perRound: ns[n] }));
  const lines = [`kernel ${os.release()}, ${o.rounds} rounds of ${o.calls} calls, medians`, '', '| probe point | ns per call | + ns per call (the hit) |', '|---|---|---|'];
  for (const x of rows) lines.push(`| ${x.arm} | ${x.nsPerCall.toFixed(0)} | ${x.arm === 'none' ? '—' : x.extraNsPerCall.toFixed(0)} |`);
  console.log(lines.join('\n'));
  if (o.out) fs.writeFileSync(o.out, JSON.stringify({ kernel: os.release(), date: new Date().toISOString(), rounds: o.rounds, calls: o.calls, rows }, null, 2));
})().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
