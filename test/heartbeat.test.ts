// The periodic work's clock (packages/collector/src/io/heartbeat.ts): each
// task on an interval of its own until a driver takes over; driven, the tasks
// run at the driver's ticks only (no timer of theirs wakes the process), each
// from 3/4 of its period on, and the driver hears the shortest period.
import { Heartbeat } from '../packages/collector/src/io/heartbeat';

describe('Heartbeat', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  test('not driven: each task on its own interval, a new period restarts it', () => {
    const hb = new Heartbeat();
    const runs = { a: 0, b: 0 };
    const a = hb.every(200, () => runs.a++);
    hb.every(1000, () => runs.b++, { keepAlive: false });
    jest.advanceTimersByTime(1000);
    expect(runs).toEqual({ a: 5, b: 1 });
    a.setPeriod(100);
    jest.advanceTimersByTime(1000);
    expect(runs).toEqual({ a: 15, b: 2 });
    a.stop();
    jest.advanceTimersByTime(1000);
    expect(runs).toEqual({ a: 15, b: 3 });
    // ticks do nothing while each task keeps time itself
    hb.tick();
    expect(runs.b).toBe(3);
    expect(jest.getTimerCount()).toBe(1);
  });

  test('driven: no timers; tasks run at the ticks from 3/4 of their period on; the driver hears the shortest period', () => {
    const hb = new Heartbeat();
    const runs = { tick: 0, flush: 0 };
    const tick = hb.every(200, () => runs.tick++);
    hb.every(1000, () => runs.flush++, { keepAlive: false });
    const told: number[] = [];
    hb.drive((ms) => told.push(ms));
    expect(told).toEqual([200]);
    expect(jest.getTimerCount()).toBe(0);
    // a driver ticking every 100 ms: the 200 ms task runs every other tick, the 1 s one every 8th (from 750 ms)
    for (let i = 0; i < 20; i++) {
      jest.advanceTimersByTime(100);
      hb.tick();
    }
    expect(runs).toEqual({ tick: 10, flush: 2 });
    // nothing runs between ticks, however long
    jest.advanceTimersByTime(5000);
    expect(runs).toEqual({ tick: 10, flush: 2 });
    hb.tick();
    expect(runs).toEqual({ tick: 11, flush: 3 });
    // a longer period, then the shorter one back: the driver hears each
    tick.setPeriod(1000);
    tick.setPeriod(200);
    expect(told).toEqual([200, 1000, 200]);
    tick.stop();
    expect(told.at(-1)).toBe(1000);
    // undriven: the remaining task keeps time itself again
    hb.undrive();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(runs.flush).toBe(4);
  });
});
