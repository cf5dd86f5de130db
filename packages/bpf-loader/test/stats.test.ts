// Run statistics: runStats() sums what the kernel counts for the named
// programs (bpf_stats, on while kernel.bpf_stats_enabled is 1), the same
// numbers programInfo() reports one by one.
import * as fs from 'node:fs';
import { BpfObject } from '../src';
import { bpfObject, key32 } from './fixtures';

const STATS = '/proc/sys/kernel/bpf_stats_enabled';

describe('run statistics', () => {
  let was = '0';
  beforeAll(() => {
    was = fs.readFileSync(STATS, 'utf8').trim();
    fs.writeFileSync(STATS, '1');
  });
  afterAll(() => fs.writeFileSync(STATS, was));

  test("runStats() sums the named programs' runs and run time, as programInfo() counts them", () => {
    const obj = BpfObject.open(bpfObject('flood', { RB_SIZE: String(64 * 1024) }));
    try {
      expect(() => obj.runStats(['flood_run'])).toThrow(/load/);
      obj.load();
      obj.ringBuffer('records', () => {});
      obj.map('flood_config').update(key32(0), key32(10));
      const before = obj.runStats(['flood_run', 'odd_sizes']);
      for (let i = 0; i < 7; i++) obj.testRun('flood_run');
      for (let i = 0; i < 3; i++) obj.testRun('odd_sizes');
      const after = obj.runStats(['flood_run', 'odd_sizes']);
      expect(after.runCount - before.runCount).toBe(10);
      expect(after.runTimeNs).toBeGreaterThan(before.runTimeNs);

      const info = obj.programInfo().filter((p) => p.name === 'flood_run' || p.name === 'odd_sizes');
      expect(info).toHaveLength(2);
      const again = obj.runStats(['flood_run', 'odd_sizes']);
      expect(again.runCount).toBe(info.reduce((s, p) => s + Number(p.runCount), 0));
      expect(again.runTimeNs).toBe(info.reduce((s, p) => s + Number(p.runTimeNs), 0));
      expect(obj.runStats(['flood_run']).runCount).toBe(Number(info.find((p) => p.name === 'flood_run')!.runCount));
      expect(obj.runStats([])).toEqual({ runTimeNs: 0, runCount: 0 });
      expect(() => obj.runStats(['no_such_program'])).toThrow(/find_program_by_name/);
    } finally {
      obj.close();
    }
  });
});
