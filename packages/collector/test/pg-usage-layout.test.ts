// BufferUsage / WalUsage per major. The offsets are what gcc printed with
// offsetof() against each major's instrument.h (see the table's comment).
import { bufferUsageLayout, decodeBufferUsage, decodeWalUsage, usageDelta, walUsageLayout } from '../src/pg/usage-layout';

function offsets(l: { fields: readonly { field: string; offset: number; kind: string }[]; size: number } | null) {
  if (!l) return null;
  return { size: l.size, ...Object.fromEntries(l.fields.map((f) => [f.field, `${f.offset} ${f.kind}`])) };
}

const COUNTERS = {
  shared_blks_hit: '0 counter',
  shared_blks_read: '8 counter',
  shared_blks_dirtied: '16 counter',
  shared_blks_written: '24 counter',
  local_blks_hit: '32 counter',
  local_blks_read: '40 counter',
  local_blks_dirtied: '48 counter',
  local_blks_written: '56 counter',
  temp_blks_read: '64 counter',
  temp_blks_written: '72 counter',
};

test('BufferUsage: 13 and 14 (timespec times), 15 (+ temp times), 16 (nanoseconds), 17 and 18 (shared/local split)', () => {
  const v13 = { size: 112, ...COUNTERS, blk_read_time: '80 timespec', blk_write_time: '96 timespec' };
  expect(offsets(bufferUsageLayout(13))).toEqual(v13);
  expect(offsets(bufferUsageLayout(14))).toEqual(v13);
  expect(offsets(bufferUsageLayout(15))).toEqual({
    size: 144,
    ...COUNTERS,
    blk_read_time: '80 timespec',
    blk_write_time: '96 timespec',
    temp_blk_read_time: '112 timespec',
    temp_blk_write_time: '128 timespec',
  });
  expect(offsets(bufferUsageLayout(16))).toEqual({
    size: 112,
    ...COUNTERS,
    blk_read_time: '80 ns',
    blk_write_time: '88 ns',
    temp_blk_read_time: '96 ns',
    temp_blk_write_time: '104 ns',
  });
  const v17 = {
    size: 128,
    ...COUNTERS,
    shared_blk_read_time: '80 ns',
    shared_blk_write_time: '88 ns',
    local_blk_read_time: '96 ns',
    local_blk_write_time: '104 ns',
    temp_blk_read_time: '112 ns',
    temp_blk_write_time: '120 ns',
  };
  expect(offsets(bufferUsageLayout(17))).toEqual(v17);
  expect(offsets(bufferUsageLayout(18))).toEqual(v17);
  expect(bufferUsageLayout(12)).toBeNull();
  expect(bufferUsageLayout(19)).toBeNull();
});

test('WalUsage: 24 bytes, 32 with wal_buffers_full in 18', () => {
  const v13 = { size: 24, wal_records: '0 counter', wal_fpi: '8 counter', wal_bytes: '16 counter' };
  for (const m of [13, 14, 15, 16, 17]) expect(offsets(walUsageLayout(m))).toEqual(v13);
  expect(offsets(walUsageLayout(18))).toEqual({ ...v13, size: 32, wal_buffers_full: '24 counter' });
  expect(walUsageLayout(19)).toBeNull();
});

function int64s(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 8);
  values.forEach((v, i) => b.writeBigInt64LE(BigInt(v), i * 8));
  return b;
}

test('decodes PostgreSQL 15: timespec times in ms, no local times', () => {
  // 10 counters, then 4 timespecs (sec, nsec)
  const u = decodeBufferUsage(15, int64s([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 2, 500_000_000, 0, 250_000, 1, 0, 0, 1_000_000]));
  expect(u).toEqual({
    sharedHit: 1,
    sharedRead: 2,
    sharedDirtied: 3,
    sharedWritten: 4,
    localHit: 5,
    localRead: 6,
    localDirtied: 7,
    localWritten: 8,
    tempRead: 9,
    tempWritten: 10,
    sharedReadMs: 2500,
    sharedWriteMs: 0.25,
    tempReadMs: 1000,
    tempWriteMs: 1,
  });
  expect(u && 'localReadMs' in u).toBe(false);
  expect(decodeBufferUsage(15, Buffer.alloc(143))).toBeNull();
});

test('decodes 13 (no temp times), 16 and 18 (nanosecond times)', () => {
  const u13 = decodeBufferUsage(13, int64s([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 3_000_000, 1, 0]));
  expect(u13).toMatchObject({ tempWritten: 10, sharedReadMs: 3, sharedWriteMs: 1000 });
  expect(u13 && Object.keys(u13)).not.toContain('tempReadMs');
  expect(decodeBufferUsage(16, int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1_500_000, 0, 2_000_000, 0]))).toMatchObject({ sharedReadMs: 1.5, tempReadMs: 2 });
  const u18 = decodeBufferUsage(18, int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1e6, 2e6, 3e6, 4e6, 5e6, 6e6]));
  expect(u18).toMatchObject({ sharedReadMs: 1, sharedWriteMs: 2, localReadMs: 3, localWriteMs: 4, tempReadMs: 5, tempWriteMs: 6 });
  expect(decodeBufferUsage(12, Buffer.alloc(256))).toBeNull();
});

test('decodes WalUsage; wal_buffers_full only from 18', () => {
  expect(decodeWalUsage(17, int64s([3, 1, 8192]))).toEqual({ walRecords: 3, walFpi: 1, walBytes: 8192 });
  expect(decodeWalUsage(18, int64s([3, 1, 8192, 2]))).toEqual({ walRecords: 3, walFpi: 1, walBytes: 8192, walBuffersFull: 2 });
  expect(decodeWalUsage(18, int64s([3, 1, 8192]))).toBeNull();
});

test('usageDelta: what happened between two reads, fields the major lacks stay absent', () => {
  const before = decodeBufferUsage(15, int64s([10, 5, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]));
  const after = decodeBufferUsage(15, int64s([25, 7, 1, 0, 0, 0, 0, 0, 2, 2, 1, 500_000_000, 0, 0, 0, 0, 0, 0]));
  const d = usageDelta(before!, after!);
  expect(d).toMatchObject({ sharedHit: 15, sharedRead: 2, sharedDirtied: 1, tempRead: 2, tempWritten: 2, sharedReadMs: 500 });
  expect('localReadMs' in d).toBe(false);
  expect(usageDelta({ walRecords: 1, walFpi: 0, walBytes: 100 }, { walRecords: 4, walFpi: 1, walBytes: 400 })).toEqual({
    walRecords: 3,
    walFpi: 1,
    walBytes: 300,
  });
});
