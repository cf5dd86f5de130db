// Ring-buffer reader: completeness, per-CPU order, counted overflow, batch
// layout and batch size cap, with records produced in the kernel by bpf_loop
// (run through BPF_PROG_TEST_RUN on a chosen CPU).
import { BpfObject, forEachRecord, possibleCpus, RECORD_HEADER_BYTES } from '../src';
import { bpfObject, failReallocLibrary, key32, runChild, waitFor } from './fixtures';

const RB_SIZE = 64 * 1024;
const RECORD = 64;
const MAGIC = 0xfe44e7;

interface Received { cpu: number; seq: number }

function setup(onRecords?: (batch: Buffer, count: number) => void, maxBatchBytes?: number) {
  const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE) }));
  obj.load();
  const got: Received[] = [];
  const batches: Buffer[] = [];
  let bad = 0;
  const reader = obj.ringBuffer(
    'records',
    (batch, count) => {
      batches.push(batch);
      const view = new DataView(batch.buffer, batch.byteOffset, batch.byteLength);
      const n = forEachRecord(batch, (off, len) => {
        if (len !== RECORD || view.getUint32(off + 12, true) !== MAGIC || batch[off + 16] !== 0xab) bad++;
        got.push({ cpu: view.getUint32(off + 8, true), seq: Number(view.getBigUint64(off, true)) });
      });
      if (n !== count) bad++;
      onRecords?.(batch, count);
    },
    maxBatchBytes === undefined ? {} : { maxBatchBytes },
  );
  const produce = (n: number, cpu: number) => {
    obj.map('flood_config').update(key32(0), key32(n));
    expect(obj.testRun('flood_run', { cpu })).toBe(n);
  };
  const dropped = () => obj.map('state').lookupPerCpu(key32(0)).reduce((s, v) => s + Number(v.readBigUInt64LE(8)), 0);
  return { obj, reader, got, batches, produce, dropped, bad: () => bad };
}

const cpus = possibleCpus();

describe('ring buffer reader', () => {
  test('records submitted without a wake-up are read by the drain timer, and only by it', async () => {
    const file = bpfObject('flood', { RB_SIZE: String(RB_SIZE), SUBMIT_FLAGS: '1' });
    const run = async (drainEveryMs?: number) => {
      const obj = BpfObject.open(file);
      obj.load();
      let got = 0;
      const reader = obj.ringBuffer('records', (_b, count) => { got += count; }, drainEveryMs === undefined ? {} : { drainEveryMs });
      obj.map('flood_config').update(key32(0), key32(300));
      expect(obj.testRun('flood_run', { cpu: 0 })).toBe(300);
      await new Promise((r) => setTimeout(r, 300));
      const stats = { ...reader.stats };
      obj.close();
      return { got, stats };
    };
    // nothing woke the reader: the records wait in the ring
    expect((await run()).got).toBe(0);
    const timed = await run(5);
    expect(timed.got).toBe(300);
    expect(timed.stats.records).toBe(300);
  });

  test('onTimer runs after every drain of the timer, records or not, after onBatch; not after a drain() asked for', async () => {
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE), SUBMIT_FLAGS: '1' }));
    try {
      obj.load();
      expect(() => obj.ringBuffer('records', () => {}, { onTimer: () => {} })).toThrow(/drainEveryMs/);
      const calls: string[] = [];
      let drainInside = false;
      let afterInside: string[] = [];
      const reader = obj.ringBuffer('records', (_b, count) => calls.push(`batch ${count}`), {
        drainEveryMs: 20, minBatchRecords: 1,
        onTimer: () => {
          calls.push('timer');
          if (!drainInside) return;
          drainInside = false;
          obj.testRun('flood_run', { cpu: 0 });
          reader.drain();
          afterInside = calls.slice();
        },
      });
      // an empty ring: the timer's drains still call onTimer (backing off: 20, 40, ... up to 200 ms)
      await new Promise((r) => setTimeout(r, 250));
      const idle = calls.length;
      expect(idle).toBeGreaterThanOrEqual(3);
      expect(calls.every((c) => c === 'timer')).toBe(true);
      // records: onBatch, then onTimer, in the same drain
      calls.length = 0;
      obj.map('flood_config').update(key32(0), key32(10));
      obj.testRun('flood_run', { cpu: 0 });
      await waitFor(() => calls.includes('batch 10'), 'the batch of 10 records', 2000);
      expect(calls[calls.indexOf('batch 10') + 1]).toBe('timer');
      expect(reader.stats.batches).toBe(1);
      // a drain asked for is not the timer's, from inside onTimer too
      calls.length = 0;
      obj.testRun('flood_run', { cpu: 0 });
      reader.drain();
      expect(calls).toEqual(['batch 10']);
      calls.length = 0;
      drainInside = true;
      await waitFor(() => !drainInside && afterInside.length > 0, 'a drain asked for inside onTimer', 2000);
      // its records, and no onTimer of its own inside the timer's
      expect(afterInside.slice(-2)).toEqual(['timer', 'batch 10']);
    } finally {
      obj.close();
    }
  });

  test('drain() reads every record the ring holds before it returns, in as many batches as the cap needs', () => {
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE), SUBMIT_FLAGS: '1' }));
    obj.load();
    const counts: number[] = [];
    // 64 records of 72 bytes a batch at most
    const reader = obj.ringBuffer('records', (_b, count) => { counts.push(count); }, { maxBatchBytes: 64 * (RECORD + RECORD_HEADER_BYTES) });
    obj.map('flood_config').update(key32(0), key32(300));
    expect(obj.testRun('flood_run', { cpu: 0 })).toBe(300);
    // nothing woke the reader and it has no timer: only drain() reads them, synchronously
    reader.drain();
    expect(counts.reduce((a, b) => a + b, 0)).toBe(300);
    expect(counts.length).toBeGreaterThanOrEqual(5);
    expect(reader.stats.records).toBe(300);
    // an empty ring: no call
    reader.drain();
    expect(reader.stats.batches).toBe(counts.length);
    reader.close();
    // a closed reader reads nothing and does not throw
    obj.testRun('flood_run', { cpu: 0 });
    reader.drain();
    expect(reader.stats.records).toBe(300);
    obj.close();
  });

  test('the drain timer backs off while drains find few records: a trickle comes in batches, not one call per record', async () => {
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE), SUBMIT_FLAGS: '1' }));
    obj.load();
    let got = 0;
    const reader = obj.ringBuffer('records', (_b, count) => { got += count; }, { drainEveryMs: 5 });
    obj.map('flood_config').update(key32(0), key32(2));
    // 2 records every ~5 ms for ~1.5 s: a reader draining every 5 ms would make ~300 calls
    for (let i = 0; i < 300; i++) {
      expect(obj.testRun('flood_run', { cpu: 0 })).toBe(2);
      await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor(() => got === 600, 'all 600 records');
    expect(reader.stats.records).toBe(600);
    // backed off to 50 ms: ~30 calls for 1.5 s and more for a slow event loop; far below one per production
    expect(reader.stats.batches).toBeLessThan(100);
    obj.close();
  });

  test('minBatchRecords: a steady stream that fills 64-record batches at the drain pace is read in fewer, larger batches', async () => {
    const stream = async (minBatchRecords?: number) => {
      // room for a 50 ms back-off's records and more
      const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(4 << 20), SUBMIT_FLAGS: '1' }));
      obj.load();
      let got = 0;
      const reader = obj.ringBuffer('records', (_b, count) => { got += count; }, { drainEveryMs: 5, ...(minBatchRecords ? { minBatchRecords } : {}) });
      obj.map('flood_config').update(key32(0), key32(100));
      // 100 records every ~5 ms for ~1 s (~20,000 a second: ≥ 64 at every 5 ms drain)
      for (let i = 0; i < 200; i++) {
        expect(obj.testRun('flood_run', { cpu: 0 })).toBe(100);
        await new Promise((r) => setTimeout(r, 5));
      }
      await waitFor(() => got === 20_000, 'all 20,000 records');
      const { batches, records } = reader.stats;
      obj.close();
      return { batches, records };
    };
    const paced = await stream();
    const batched = await stream(10_000);
    console.log(`batches for 20,000 records over ~1 s: default ${paced.batches}, minBatchRecords 10000 ${batched.batches}`);
    expect([paced.records, batched.records]).toEqual([20_000, 20_000]);
    // never 10,000 at once here: backed off to its longest (50 ms), ~20 calls and more for a slow event loop
    expect(batched.batches).toBeLessThan(paced.batches / 2);
    expect(batched.batches).toBeLessThan(60);
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE) }));
    obj.load();
    expect(() => obj.ringBuffer('records', () => {}, { drainEveryMs: 5, minBatchRecords: 0 })).toThrow(/minBatchRecords must be an integer between 1 and 1000000, got 0/);
    obj.close();
  });

  test('setBackoff bounds the back-off: a record waits at most that long for its drain', async () => {
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(RB_SIZE), SUBMIT_FLAGS: '1' }));
    obj.load();
    const at: number[] = [];
    const reader = obj.ringBuffer('records', () => { at.push(performance.now()); }, { drainEveryMs: 5 });
    obj.map('flood_config').update(key32(0), key32(1));
    // a record every 20–60 ms (not a fixed period, which would lock onto the timer's): how long each waits for its drain
    const waits = async (n: number) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const before = at.length;
        const t = performance.now();
        obj.testRun('flood_run', { cpu: 0 });
        await waitFor(() => at.length > before, 'the record');
        out.push(at[at.length - 1] - t);
        await new Promise((r) => setTimeout(r, 20 + 40 * Math.random()));
      }
      return out.sort((x, y) => x - y);
    };
    // backed off (to 50 ms): a record waits up to 50 ms, ~25 on average
    await new Promise((r) => setTimeout(r, 400));
    const backedOff = await waits(20);
    reader.setBackoff(10);
    const bounded = await waits(20);
    console.log(`drain waits, median / max (ms): backed off ${backedOff[10].toFixed(1)} / ${backedOff[19].toFixed(1)}, setBackoff(10) ${bounded[10].toFixed(1)} / ${bounded[19].toFixed(1)}`);
    expect(backedOff[19]).toBeGreaterThan(25);
    // 10 ms, and the event loop's own lateness
    expect(bounded[10]).toBeLessThanOrEqual(11);
    expect(bounded[19]).toBeLessThan(backedOff[19]);
    expect(() => reader.setBackoff(-1)).toThrow(/between 0 and 600000/);
    obj.close();
  });

  test('delivers every record below capacity, in order per CPU', async () => {
    const { obj, reader, got, produce, dropped, bad } = setup();
    const perRound = 400; // 400 * 72 bytes < 64 KiB: never full
    let expected = 0;
    for (let round = 0; round < 25; round++) {
      const cpu = round % cpus;
      produce(perRound, cpu);
      expected += perRound;
      await waitFor(() => got.length === expected, `${expected} records`);
    }
    expect(dropped()).toBe(0);
    expect(bad()).toBe(0);
    for (let cpu = 0; cpu < cpus; cpu++) {
      const seqs = got.filter((r) => r.cpu === cpu).map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i));
    }
    expect(reader.stats.records).toBe(expected);
    expect(reader.stats.bytes).toBe(expected * RECORD);
    expect(reader.stats.batches).toBeGreaterThanOrEqual(25);
    obj.close();
  });

  test('overflow is counted in a per-CPU map, not silent', async () => {
    const { obj, got, produce, dropped, bad } = setup();
    const n = 5000; // 360 KB of records into a 64 KiB ring, nothing consumed meanwhile
    produce(n, 0);
    const lost = dropped();
    expect(lost).toBeGreaterThan(0);
    await waitFor(() => got.length === n - lost, `${n - lost} records`);
    await new Promise((r) => setTimeout(r, 20));
    expect(got.length + lost).toBe(n);
    expect(got.length).toBeLessThanOrEqual(Math.floor(RB_SIZE / (RECORD + 8)));
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i));
    expect(bad()).toBe(0);
    obj.close();
  });

  test('batch layout: [u32 length LE][u32 0][bytes padded to 8]', async () => {
    const { obj, batches } = setup();
    obj.testRun('odd_sizes');
    await waitFor(() => batches.length === 1, 'one batch');
    const b = batches[0];
    expect(b.length).toBe(8 + 8 + (8 + 16) + (8 + 24));
    const expected = [
      [0, 1],
      [16, 13],
      [40, 20],
    ];
    for (const [at, len] of expected) {
      expect(b.readUInt32LE(at)).toBe(len);
      expect(b.readUInt32LE(at + 4)).toBe(0);
      const body = b.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + len);
      expect([...body]).toEqual(Array.from({ length: len }, (_, i) => i + 1));
      const padEnd = at + RECORD_HEADER_BYTES + ((len + 7) & ~7);
      expect([...b.subarray(at + RECORD_HEADER_BYTES + len, padEnd)].every((x) => x === 0)).toBe(true);
    }
    const seen: number[][] = [];
    expect(forEachRecord(b, (off, len) => seen.push([off, len]))).toBe(3);
    expect(seen).toEqual(expected.map(([at, len]) => [at + 8, len]));
    obj.close();
  });

  test('maxBatchBytes splits a flood into bounded batches without losing records', async () => {
    const { obj, got, batches, produce } = setup(undefined, 4096);
    produce(800, 0);
    await waitFor(() => got.length === 800, '800 records');
    expect(batches.length).toBeGreaterThanOrEqual(Math.floor((800 * 72) / (4096 + 72)));
    for (const b of batches) expect(b.length).toBeLessThan(4096 + 72);
    expect(got.map((r) => r.seq)).toEqual(Array.from({ length: 800 }, (_, i) => i));
    obj.close();
  });

  test('close() inside onBatch stops delivery; object close() stops readers', async () => {
    let calls = 0;
    const s = setup(() => {
      calls++;
      s.reader.close();
    }, 1024);
    s.produce(200, 0);
    await waitFor(() => calls === 1, 'first batch');
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
    expect(s.reader.stats.batches).toBe(1);

    const t = setup();
    t.obj.close();
    t.reader.close();
    expect(t.got.length).toBe(0);
    s.obj.close();
  });

  test('a batch buffer that cannot grow reaches JS: counted with its errno, the rest still delivered', () => {
    const flood = bpfObject('flood', { RB_SIZE: String(RB_SIZE) });
    // the batch buffer grows from 4 KiB to 8 KiB when a record overshoots a 4 KiB batch: that realloc fails
    const r = runChild('flood', [flood], ['env', `LD_PRELOAD=${failReallocLibrary()}`, 'FAIL_REALLOC_MIN=8192']);
    expect(r.ok).toBe(true);
    const stats = r.stats as { errors: number; lastError: string; records: number };
    expect(stats.errors).toBeGreaterThan(0);
    expect(stats.lastError).toBe('grow the batch buffer (the record was lost): ENOMEM');
    // each failure loses the one record libbpf had handed over; every other one arrives
    expect(r.records! + stats.errors).toBe(800);
    expect(stats.records).toBe(r.records);

    const healthy = runChild('flood', [flood]);
    expect(healthy.records).toBe(800);
    expect((healthy.stats as { errors: number }).errors).toBe(0);
  });
});
