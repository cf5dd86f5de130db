// EXPLAIN's Buffers / I/O Timings / WAL lines from a statement span's counters:
// what was not measured is left out, what was measured is printed, zeros too.
import { usageLines } from '../src/embedded/usage-lines';

const shared = { 'postgresql.buffers.shared.hit': 12, 'postgresql.buffers.shared.read': 340, 'postgresql.buffers.shared.dirtied': 2, 'postgresql.buffers.shared.written': 1 };

test('nothing measured: no line at all', () => {
  expect(usageLines({})).toEqual([]);
  expect(usageLines({ 'db.query.text': 'SELECT 1', 'postgresql.buffers.shared.hit': 'many' })).toEqual([]);
});

test('the groups EXPLAIN prints, in its order and words', () => {
  expect(
    usageLines({
      ...shared,
      'postgresql.buffers.local.hit': 1, 'postgresql.buffers.local.read': 0, 'postgresql.buffers.local.dirtied': 0, 'postgresql.buffers.local.written': 0,
      'postgresql.buffers.temp.read': 7, 'postgresql.buffers.temp.written': 9,
      'postgresql.io.shared.read_ms': 1.2345, 'postgresql.io.shared.write_ms': 0, 'postgresql.io.temp.read_ms': 0.5, 'postgresql.io.temp.write_ms': 0.25,
      'postgresql.wal.records': 3, 'postgresql.wal.fpi': 1, 'postgresql.wal.bytes': '9007199254740993', 'postgresql.wal.buffers_full': 0,
    }),
  ).toEqual([
    'Buffers: shared hit=12 read=340 dirtied=2 written=1, local hit=1 read=0 dirtied=0 written=0, temp read=7 written=9',
    'I/O Timings: shared read=1.234 write=0.000, temp read=0.500 write=0.250',
    'WAL: records=3 fpi=1 bytes=9007199254740993 buffers full=0',
  ]);
});

test('measured zeros stay; a local or temp group of zeros is left out as EXPLAIN does', () => {
  expect(
    usageLines({
      'postgresql.buffers.shared.hit': 0, 'postgresql.buffers.shared.read': 0,
      'postgresql.buffers.temp.read': 0, 'postgresql.buffers.temp.written': 0,
      'postgresql.wal.records': 0, 'postgresql.wal.fpi': 0, 'postgresql.wal.bytes': 0,
    }),
  ).toEqual(['Buffers: shared hit=0 read=0', 'WAL: records=0 fpi=0 bytes=0']);
  // PostgreSQL 13-16 have no local timings: only what the span carries
  expect(usageLines({ 'postgresql.io.shared.read_ms': 0.1 })).toEqual(['I/O Timings: shared read=0.100']);
});
