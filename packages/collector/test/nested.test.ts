// Pairing SPI begin/end records by stack pointer: nesting, errors that unwind
// past end probes (caught by the function, or ending the statement), the cap.
import type { NestRecord } from '../src/events/decode';
import { Edge, NestText } from '../src/events/layout';
import { capNested, pairNested } from '../src/spans/nested';

const begin = (ts: number, sp: bigint, text: string, ptr = BigInt(ts)): NestRecord =>
  ({ tsNs: ts, unit: 1, edge: Edge.BEGIN, sp, textPtr: ptr, rows: 0, result: 0, textState: NestText.SENT, text });
const end = (ts: number, sp: bigint, rows = 1, result = 5): NestRecord =>
  ({ tsNs: ts, unit: 1, edge: Edge.END, sp: sp + 8n, textPtr: 0n, rows, result, textState: 0, text: '' });

describe('pairNested', () => {
  it('siblings and a statement nested in another (a trigger under an INSERT)', () => {
    const out = pairNested([
      begin(10, 1000n, 'UPDATE a'), end(20, 1000n, 3),
      begin(30, 1000n, 'INSERT INTO b'), begin(35, 800n, 'INSERT INTO audit'), end(38, 800n), end(40, 1000n, 1),
    ], 100);
    expect(out.map((n) => [n.text, n.depth, n.parent, n.startNs, n.endNs, n.rows, n.failed])).toEqual([
      ['UPDATE a', 1, -1, 10, 20, 3, false],
      ['INSERT INTO b', 1, -1, 30, 40, 1, false],
      ['INSERT INTO audit', 2, 1, 35, 38, 1, false],
    ]);
  });

  it('an error caught by the function: the next statement at the same depth closes the failed one', () => {
    const out = pairNested([begin(10, 1000n, 'INSERT dup'), begin(50, 1000n, 'SELECT 1'), end(60, 1000n)], 100);
    expect(out.map((n) => [n.text, n.endNs, n.failed])).toEqual([['INSERT dup', 50, true], ['SELECT 1', 60, false]]);
  });

  it('an error that ends the statement: what is open fails at its end', () => {
    const out = pairNested([begin(10, 1000n, 'CALL inner'), begin(20, 700n, 'UPDATE x')], 90);
    expect(out.map((n) => [n.text, n.depth, n.endNs, n.failed])).toEqual([['CALL inner', 1, 90, true], ['UPDATE x', 2, 90, true]]);
  });

  it('an SPI error code fails the statement without an unwind', () => {
    expect(pairNested([begin(10, 1000n, 'bad'), end(20, 1000n, 0, -6)], 90)[0].failed).toBe(true);
  });

  it('a capped record takes the text of an earlier run of the same plan', () => {
    const capped: NestRecord = { ...begin(30, 1000n, '', 7n), textState: NestText.CAPPED };
    const out = pairNested([begin(10, 1000n, 'UPDATE t', 7n), end(20, 1000n), capped, end(40, 1000n)], 90);
    expect(out[1]).toMatchObject({ text: 'UPDATE t', capped: true, endNs: 40 });
  });
});

describe('capNested', () => {
  it('keeps the first n, sums the rest per text', () => {
    const all = pairNested([
      begin(10, 1n, 'A'), end(11, 1n, 2), begin(12, 1n, 'B'), end(14, 1n, 1), begin(20, 1n, 'A'), end(25, 1n, 2), begin(30, 1n, 'A'), end(31, 1n, 2),
    ], 100);
    const { kept, aggregates } = capNested(all, 2);
    expect(kept.map((n) => n.text)).toEqual(['A', 'B']);
    expect(aggregates).toEqual([{ text: 'A', calls: 2, totalNs: 6, rows: 4, failed: 0, startNs: 20, endNs: 31 }]);
  });
});
