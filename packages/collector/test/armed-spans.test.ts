// Whether a statement is timed depends on the probes it ran under, also when
// it is assembled after its backend lost them (the collector behind on its
// ring buffer).
import { ArmedSpans, PAST_KEPT_MS, PAST_PER_BACKEND } from '../src/arming/armed-spans';

describe('ArmedSpans', () => {
  it('an armed backend: statements from its arming on are timed, one that began before is not', () => {
    const a = new ArmedSpans();
    a.armed(7, 1000);
    expect(a.covers(7, 1000, 1500)).toBe(true);
    expect(a.covers(7, 2000, 2500)).toBe(true);
    expect(a.covers(7, 900, 1500)).toBe(false);
    expect(a.covers(8, 2000, 2500)).toBe(false);
  });

  it('after its probes left: what ran before is still timed, what ran across or after it is not', () => {
    const a = new ArmedSpans();
    a.armed(7, 1000);
    a.ended(7, 5000, 0);
    expect(a.covers(7, 2000, 4000)).toBe(true);
    expect(a.covers(7, 4000, 6000)).toBe(false);
    expect(a.covers(7, 6000, 7000)).toBe(false);
    // armed again: its new span, and the old one
    a.armed(7, 8000);
    expect(a.covers(7, 9000, 9500)).toBe(true);
    expect(a.covers(7, 2000, 4000)).toBe(true);
    expect(a.covers(7, 4000, 9500)).toBe(false);
  });

  it('ended spans are forgotten after PAST_KEPT_MS, and only the last PAST_PER_BACKEND of a backend are kept', () => {
    const a = new ArmedSpans();
    a.armed(7, 1000);
    a.ended(7, 2000, 10_000);
    a.prune(10_000 + PAST_KEPT_MS - 1);
    expect(a.covers(7, 1500, 1600)).toBe(true);
    a.prune(10_000 + PAST_KEPT_MS);
    expect(a.covers(7, 1500, 1600)).toBe(false);
    for (let i = 0; i <= PAST_PER_BACKEND; i++) {
      a.armed(9, i * 100);
      a.ended(9, i * 100 + 50, 0);
    }
    expect(a.covers(9, 10, 20)).toBe(false);
    expect(a.covers(9, 110, 120)).toBe(true);
  });

  it('a backend never armed has nothing to end', () => {
    const a = new ArmedSpans();
    a.ended(7, 5000, 0);
    expect(a.covers(7, 1000, 2000)).toBe(false);
  });
});
