import { MonotonicClock } from '../src/spans/clock';

describe('MonotonicClock', () => {
  it('turns CLOCK_MONOTONIC nanoseconds into the wall clock OTel JS uses', () => {
    const clock = new MonotonicClock();
    const [sec, ns] = clock.toHrTime(Number(process.hrtime.bigint()));
    const wallMs = performance.timeOrigin + performance.now();
    expect(Math.abs(sec * 1000 + ns / 1e6 - wallMs)).toBeLessThan(5);
    expect(ns).toBeGreaterThanOrEqual(0);
    expect(ns).toBeLessThan(1e9);
  });
  it('a preemption between its clock reads does not shift every span (a niced collector on busy CPUs)', () => {
    const real = performance.now.bind(performance);
    let calls = 0;
    // the first wall-clock read comes 3 ms after the monotonic one, as if the collector lost the CPU in between
    const now = jest.spyOn(performance, 'now').mockImplementation(() => {
      if (calls++ === 0) for (const until = real() + 3; real() < until;);
      return real();
    });
    let clock: MonotonicClock;
    try {
      clock = new MonotonicClock();
    } finally {
      now.mockRestore();
    }
    expect(calls).toBeGreaterThan(1);
    const [sec, ns] = clock.toHrTime(Number(process.hrtime.bigint()));
    const wallMs = performance.timeOrigin + performance.now();
    expect(Math.abs(sec * 1000 + ns / 1e6 - wallMs)).toBeLessThan(0.5);
  });
  it('keeps nanosecond order and differences', () => {
    const clock = new MonotonicClock();
    const base = 864_000_999_999_000; // 10 days of uptime, across a second boundary below
    const a = clock.toHrTime(base);
    const b = clock.toHrTime(base + 1500);
    expect((b[0] - a[0]) * 1e9 + (b[1] - a[1])).toBe(1500);
  });
});
