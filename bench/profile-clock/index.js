// What a software cpu-clock perf event costs the process it samples, apart
// from the samples: two processes ping-pong a byte through pipes (the
// sampled one blocks in read twice per round trip), with and without the
// loader's probes fixture on_cpu_clock at 997 Hz attached to it, interleaved.
//   node bench/profile-clock   (root; build the loader's test fixtures first:
//   npx jest packages/bpf-loader/test/probes.test.ts)
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');
const BIN = path.join(require('os').tmpdir(), 'pgferret-ping-pong');
execFileSync('cc', ['-O2', '-o', BIN, path.join(__dirname, 'ping-pong.c')]);
const { spawn } = require('child_process');
const { BpfObject } = require('../../packages/bpf-loader/dist');
const obj = BpfObject.open(path.join(__dirname, '..', '..', 'packages', 'bpf-loader', 'build', 'test-fixtures', 'probes.bpf.o'));
obj.load();
async function once(attach) {
  const p = spawn(BIN, ['200000'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = await new Promise((r) => p.stdout.once('data', (d) => r(Number(String(d).trim()))));
  const link = attach ? obj.attachPerfEvent({ program: 'on_cpu_clock', pid, hz: 997 }) : null;
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  p.stdin.write('go\n');
  await new Promise((r) => p.on('exit', r));
  link?.detach();
  return Number(err.trim());
}
(async () => {
  const res = { off: [], on: [] };
  for (let i = 0; i < 8; i++) for (const k of i % 2 ? ['on', 'off'] : ['off', 'on']) res[k].push(await once(k === 'on'));
  const med = (a) => a.slice().sort((x, y) => x - y)[a.length >> 1];
  console.log(JSON.stringify(res), 'median µs CPU per round trip of the sampled process: off', med(res.off), 'on', med(res.on));
  obj.close();
})();
