// When the overhead budget may tick less often: only with nothing to decide
// (no sampled statement for a while, no backend armed, waiting or being
// disarmed). The collector's idle cost depends on it; arming latency depends
// on it not being quiet while there is sampled traffic.
import type { Arming } from '../src/arming/arming';
import { ProbeBudget, QUIET_AFTER_MS } from '../src/arming/budget';

function budget(idle: { value: boolean }): ProbeBudget {
  // the only part of Arming that quiet() asks
  const arming = { idle: () => idle.value } as unknown as Arming;
  return new ProbeBudget({ maxOverheadPct: 1, armAtFork: 1, arming, postmasters: () => [], hits: () => 0, programStats: () => ({ runTimeNs: 0, runCount: 0 }) });
}

describe('ProbeBudget.quiet', () => {
  afterEach(() => jest.useRealTimers());

  it('is quiet with no sampled statement and no backend armed, waiting or being disarmed', () => {
    expect(budget({ value: true }).quiet()).toBe(true);
  });

  it('is not quiet while any backend is armed, waiting or being disarmed', () => {
    expect(budget({ value: false }).quiet()).toBe(false);
  });

  it('is not quiet for QUIET_AFTER_MS after a sampled statement, then quiet again', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const b = budget({ value: true });
    b.sampled(42);
    expect(b.quiet()).toBe(false);
    jest.setSystemTime(1_000_000 + QUIET_AFTER_MS - 1);
    expect(b.quiet()).toBe(false);
    jest.setSystemTime(1_000_000 + QUIET_AFTER_MS);
    expect(b.quiet()).toBe(true);
  });
});
