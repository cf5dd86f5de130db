// struct BufferUsage and struct WalUsage (executor/instrument.h) per major,
// x86-64: what EXPLAIN (BUFFERS, WAL) counts, read from the backend's
// pgBufferUsage / pgWalUsage at the start and end of a statement.
//
// Sources: instrument.h and portability/instr_time.h of 13.1
// (PengJiazhen408/postgresql-13.1-ml @ 2d713419534c6ee8d6c33246d3f141c4fdcef6ac),
// 14.13 (xlab-uiuc/postgresql-14.13 @ 9b67551ca62d12fde3da55635e0e684e2e88ed3e),
// 15.15 (LianhangZ/postgresql-15.15 @ e7e5dd1bafcf0bf6c6ee97e0497351034dece7c3; the
// same files in Debian postgresql-server-dev-15 15.20), 16.2
// (Hap-Hugh/PostgreSQL-16-Robust @ 4900795dcd682ae9bf8eb3f77fadfe023dff5161),
// 17.4 (anika0102/Modified-PostgreSQL-17.4-B-Tree-index-internals- @
// 92d2853f5bce93bc0adf7e50b6b37d37eedc6d9e) and 18.3 (darion-yaphet/postgresql-18.3 @
// 38b8aee2c5f8b349022106469931907d1bf6bcd6). Offsets and sizes are what gcc
// gives for those headers; the sizes equal st_size of pgBufferUsage and
// pgWalUsage in 13.23, 14.23, 15.20, 16.14, 17.10 and 18.4 binaries.

/** counter: int64 (`long` in 13); timespec: instr_time up to 15; ns: instr_time from 16 (int64 nanoseconds) */
export type UsageKind = 'counter' | 'timespec' | 'ns';

export interface UsageField<K extends string> {
  /** the C member */
  field: string;
  key: K;
  offset: number;
  kind: UsageKind;
}

export interface UsageLayout<K extends string> {
  fields: readonly UsageField<K>[];
  /** sizeof the struct */
  size: number;
}

export interface BufferUsage {
  sharedHit: number;
  sharedRead: number;
  sharedDirtied: number;
  sharedWritten: number;
  localHit: number;
  localRead: number;
  localDirtied: number;
  localWritten: number;
  tempRead: number;
  tempWritten: number;
  /** only counted with track_io_timing, as are the other times */
  sharedReadMs: number;
  sharedWriteMs: number;
  /** 17+ */
  localReadMs?: number;
  localWriteMs?: number;
  /** 15+ */
  tempReadMs?: number;
  tempWriteMs?: number;
}

export interface WalUsage {
  walRecords: number;
  walFpi: number;
  walBytes: number;
  /** 18+ */
  walBuffersFull?: number;
}

type Spec<K extends string> = [field: string, key: K, kind: UsageKind][];

const SIZE: Record<UsageKind, number> = { counter: 8, timespec: 16, ns: 8 };

// Every member is 8-byte aligned, so each follows the one before.
function layout<K extends string>(spec: Spec<K>): UsageLayout<K> {
  let offset = 0;
  const fields = spec.map(([field, key, kind]) => {
    const f = { field, key, offset, kind };
    offset += SIZE[kind];
    return f;
  });
  return { fields, size: offset };
}

const BLOCKS: Spec<keyof BufferUsage> = [
  ['shared_blks_hit', 'sharedHit', 'counter'],
  ['shared_blks_read', 'sharedRead', 'counter'],
  ['shared_blks_dirtied', 'sharedDirtied', 'counter'],
  ['shared_blks_written', 'sharedWritten', 'counter'],
  ['local_blks_hit', 'localHit', 'counter'],
  ['local_blks_read', 'localRead', 'counter'],
  ['local_blks_dirtied', 'localDirtied', 'counter'],
  ['local_blks_written', 'localWritten', 'counter'],
  ['temp_blks_read', 'tempRead', 'counter'],
  ['temp_blks_written', 'tempWritten', 'counter'],
];

function bufferTimes(time: UsageKind, temp: boolean): Spec<keyof BufferUsage> {
  const spec: Spec<keyof BufferUsage> = [
    ['blk_read_time', 'sharedReadMs', time],
    ['blk_write_time', 'sharedWriteMs', time],
  ];
  if (temp) spec.push(['temp_blk_read_time', 'tempReadMs', time], ['temp_blk_write_time', 'tempWriteMs', time]);
  return spec;
}

// 17 split the block times into shared and local
const BUFFER_TIMES_17: Spec<keyof BufferUsage> = [
  ['shared_blk_read_time', 'sharedReadMs', 'ns'],
  ['shared_blk_write_time', 'sharedWriteMs', 'ns'],
  ['local_blk_read_time', 'localReadMs', 'ns'],
  ['local_blk_write_time', 'localWriteMs', 'ns'],
  ['temp_blk_read_time', 'tempReadMs', 'ns'],
  ['temp_blk_write_time', 'tempWriteMs', 'ns'],
];

const BUFFER_USAGE: Readonly<Record<number, UsageLayout<keyof BufferUsage>>> = {
  13: layout([...BLOCKS, ...bufferTimes('timespec', false)]),
  14: layout([...BLOCKS, ...bufferTimes('timespec', false)]),
  15: layout([...BLOCKS, ...bufferTimes('timespec', true)]),
  16: layout([...BLOCKS, ...bufferTimes('ns', true)]),
  17: layout([...BLOCKS, ...BUFFER_TIMES_17]),
  18: layout([...BLOCKS, ...BUFFER_TIMES_17]),
};

const WAL: Spec<keyof WalUsage> = [
  ['wal_records', 'walRecords', 'counter'],
  ['wal_fpi', 'walFpi', 'counter'],
  ['wal_bytes', 'walBytes', 'counter'], // uint64, never near 2^63
];

const WAL_USAGE: Readonly<Record<number, UsageLayout<keyof WalUsage>>> = {
  13: layout(WAL),
  14: layout(WAL),
  15: layout(WAL),
  16: layout(WAL),
  17: layout(WAL),
  18: layout([...WAL, ['wal_buffers_full', 'walBuffersFull', 'counter']]),
};

export function bufferUsageLayout(major: number): UsageLayout<keyof BufferUsage> | null {
  return BUFFER_USAGE[major] ?? null;
}

export function walUsageLayout(major: number): UsageLayout<keyof WalUsage> | null {
  return WAL_USAGE[major] ?? null;
}

// Counters as numbers (exact below 2^53); times in milliseconds.
function read(buf: Buffer, f: UsageField<string>): number {
  switch (f.kind) {
    case 'counter':
      return Number(buf.readBigInt64LE(f.offset));
    case 'timespec':
      return Number(buf.readBigInt64LE(f.offset)) * 1e3 + Number(buf.readBigInt64LE(f.offset + 8)) / 1e6;
    case 'ns':
      return Number(buf.readBigInt64LE(f.offset)) / 1e6;
  }
}

function decode<K extends string>(l: UsageLayout<K> | null, buf: Buffer): Record<K, number> | null {
  if (!l || buf.length < l.size) return null;
  const out = {} as Record<K, number>;
  for (const f of l.fields) out[f.key] = read(buf, f);
  return out;
}

/** pgBufferUsage's bytes as named counters; null for a major not known or too few bytes. */
export function decodeBufferUsage(major: number, buf: Buffer): BufferUsage | null {
  return decode(bufferUsageLayout(major), buf) as BufferUsage | null;
}

/** pgWalUsage's bytes as named counters; null for a major not known or too few bytes. */
export function decodeWalUsage(major: number, buf: Buffer): WalUsage | null {
  return decode(walUsageLayout(major), buf) as WalUsage | null;
}

/** after − before, member by member (both of one major): what a statement added. */
export function usageDelta(before: BufferUsage, after: BufferUsage): BufferUsage;
export function usageDelta(before: WalUsage, after: WalUsage): WalUsage;
export function usageDelta(before: object, after: object): object {
  const was = new Map<string, unknown>(Object.entries(before));
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const w = was.get(k);
    if (typeof v === 'number' && typeof w === 'number') out[k] = v - w;
  }
  return out;
}
