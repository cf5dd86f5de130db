// Ring-buffer throughput to JS: a C producer calls a uprobed function in a
// tight loop on one core; the BPF program emits 1024 64-byte records per call
// with bpf_loop into a 16 MiB ring buffer; this process reads them with
// @pgferret/bpf-loader and touches every record (forEachRecord + DataView).
// Rounds of A/B/C batch caps are interleaved; medians are reported.
//   node bench/loader [--rounds N] [--seconds S]
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { BpfObject, buildBpfObject, forEachRecord } = require('@pgferret/bpf-loader');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const ROUNDS = arg('rounds', 5);
const SECONDS = arg('seconds', 2);
const PER_CALL = 1024;
const RB_SIZE = 16 * 1024 * 1024;
const CONFIGS = [
  { name: 'maxBatchBytes 64 KiB', maxBatchBytes: 64 * 1024 },
  { name: 'maxBatchBytes 256 KiB (default)', maxBatchBytes: 256 * 1024 },
  { name: 'maxBatchBytes 1 MiB', maxBatchBytes: 1024 * 1024 },
];

const fixtures = path.join(__dirname, '..', '..', 'packages', 'bpf-loader', 'test', 'fixtures');
const work = path.join(__dirname, '..', '..', 'packages', 'bpf-loader', 'build', 'bench');
fs.mkdirSync(work, { recursive: true });
const binary = path.join(work, 'pgft-target');
execFileSync('cc', ['-O2', '-g', '-o', binary, path.join(fixtures, 'target.c')]);
const objectPath = path.join(work, 'flood.bpf.o');
buildBpfObject({ source: path.join(fixtures, 'flood.bpf.c'), output: objectPath, defines: { RB_SIZE: String(RB_SIZE) } });

const obj = BpfObject.open(objectPath);
obj.load();
obj.attachUprobe({ program: 'flood_uprobe', binaryPath: binary, symbol: 'pgft_burst' });
const state = obj.map('state');
const zero = Buffer.alloc(4);
const dropped = () => state.lookupPerCpu(zero).reduce((s, v) => s + Number(v.readBigUInt64LE(8)), 0);
const produced = () => state.lookupPerCpu(zero).reduce((s, v) => s + Number(v.readBigUInt64LE(0)), 0);

let checksum = 0;
function onBatch(batch) {
  const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
  forEachRecord(batch, (off) => {
    checksum = (checksum + view.getUint32(off, true)) | 0; // low word of seq
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(config) {
  const reader = obj.ringBuffer('records', onBatch, { maxBatchBytes: config.maxBatchBytes });
  await sleep(200); // warm-up, and drain what the previous round left
  const r0 = reader.stats.records, b0 = reader.stats.batches, d0 = dropped(), p0 = produced();
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(c0);
  const records = reader.stats.records - r0;
  const out = {
    recordsPerSec: records / secs,
    cpuMsPerMillion: (cpu.user + cpu.system) / 1000 / (records / 1e6),
    cpuCores: (cpu.user + cpu.system) / 1e6 / secs,
    recordsPerBatch: records / (reader.stats.batches - b0),
    dropFraction: (dropped() - d0) / (dropped() - d0 + produced() - p0),
  };
  reader.close();
  return out;
}

async function main() {
  const producer = spawn(binary, ['burst', '1000000000000', String(PER_CALL)], { stdio: 'ignore' });
  const results = new Map(CONFIGS.map((c) => [c.name, []]));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...CONFIGS].reverse() : CONFIGS;
      for (const c of order) results.get(c.name).push(await measure(c));
    }
  } finally {
    producer.kill('SIGKILL');
    obj.close();
  }
  const baseline = median(results.get(CONFIGS[1].name).map((r) => r.recordsPerSec));
  console.log(`kernel ${fs.readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim()}, ${require('node:os').cpus().length} CPUs, node ${process.version}; ${ROUNDS} rounds x ${SECONDS}s, 64-byte records, ${PER_CALL} per uprobe hit, ring ${RB_SIZE >> 20} MiB`);
  console.log('| config | records/s to JS (median) | ratio vs default | CPU ms per 1M records | CPU cores used | records per batch | dropped by producer |');
  console.log('|---|---|---|---|---|---|---|');
  for (const c of CONFIGS) {
    const rs = results.get(c.name);
    const m = (k) => median(rs.map((r) => r[k]));
    console.log(
      `| ${c.name} | ${(m('recordsPerSec') / 1e6).toFixed(2)} M | ${(m('recordsPerSec') / baseline).toFixed(2)} | ${m('cpuMsPerMillion').toFixed(0)} | ${m('cpuCores').toFixed(2)} | ${m('recordsPerBatch').toFixed(0)} | ${(m('dropFraction') * 100).toFixed(0)} % |`,
    );
  }
  if (checksum === 0.5) console.log(''); // keep the per-record work observable
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
