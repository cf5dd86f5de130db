// Issue 21 (5): under CPU contention a statement is preempted every few
// milliseconds; its CPU:Runnable waits are summed per phase unless one is
// long, so the trace stays readable, while every other wait of 1 ms or more
// keeps its own span.
import { buildSpans } from '../src/spans/build';
import { MonotonicClock } from '../src/spans/clock';
import { SqlDescriber } from '../src/spans/describe';
import { RUNNABLE_SPAN_MIN_NS } from '../src/spans/inside-spans';
import { clusterA, statement } from './span-fixtures';

test('dozens of short preemptions become one per-phase sum; a long one and a 2 ms IO wait keep their spans', () => {
  const s = statement();
  const execute = s.phases.find((p) => p.name === 'execute')!;
  // a 680 ms execute preempted 38 times for 2 ms, once for 30 ms, and one 2 ms IO wait
  s.startNs = execute.startNs - 10_000;
  execute.endNs = execute.startNs + 680_000_000;
  s.phases = s.phases.filter((p) => p.name !== 'commit');
  s.endNs = execute.endNs + 1_000;
  const waits = Array.from({ length: 38 }, (_v, i) => ({ startNs: execute.startNs + i * 15_000_000, endNs: execute.startNs + i * 15_000_000 + 2_000_000, event: 0, runnable: true }));
  waits.push({ startNs: execute.startNs + 600_000_000, endNs: execute.startNs + 630_000_000, event: 0, runnable: true });
  waits.push({ startNs: execute.startNs + 650_000_000, endNs: execute.startNs + 652_000_000, event: 0x0a000000 | 1, runnable: false });
  s.inside = { samples: [], waits, locks: [], usage: null, nests: [], clockLateNs: 0 };
  const spans = buildSpans(s, clusterA, new MonotonicClock(), { database: 'shop', user: 'app', inside: { major: 15, waits: true } }, new SqlDescriber(false), 'confirmed');
  const runnable = spans.filter((x) => x.name === 'wait CPU:Runnable');
  expect(runnable).toHaveLength(1);
  expect(Number(runnable[0].endTime[1] - runnable[0].startTime[1] + (runnable[0].endTime[0] - runnable[0].startTime[0]) * 1e9)).toBeGreaterThanOrEqual(RUNNABLE_SPAN_MIN_NS);
  expect(spans.filter((x) => x.name.startsWith('wait ') && x.name !== 'wait CPU:Runnable')).toHaveLength(1);
  const phase = spans.find((x) => x.attributes['postgresql.phase'] === 'execute')!;
  const events = phase.attributes['pgferret.waits.events'] as string[];
  const at = events.indexOf('CPU:Runnable');
  expect(at).toBeGreaterThanOrEqual(0);
  expect((phase.attributes['pgferret.waits.counts'] as number[])[at]).toBe(38);
  expect((phase.attributes['pgferret.waits.total_ms'] as number[])[at]).toBeCloseTo(76, 6);
  // off-CPU time still counts every wait
  const stmt = spans[0];
  expect(stmt.attributes['pgferret.cpu.off_ms']).toBeCloseTo(76 + 30 + 2, 6);
});
