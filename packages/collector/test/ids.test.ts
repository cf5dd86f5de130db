import { newSpanId, newTraceId } from '../src/spans/ids';

describe('span and trace ids', () => {
  it('are lowercase hex of their length and do not repeat, across refills of the pool', () => {
    const spans = new Set<string>();
    for (let i = 0; i < 50_000; i++) {
      const id = newSpanId();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      spans.add(id);
      if (i % 7 === 0) expect(newTraceId()).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(spans.size).toBe(50_000);
  });
});
