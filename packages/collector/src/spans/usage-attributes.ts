// Where a statement's buffer and WAL counters become attributes, named like
// EXPLAIN (ANALYZE, BUFFERS, WAL) prints them. Like EXPLAIN, a counter that
// stayed 0 is left out (fewer bytes on every span), except shared.hit,
// shared.read and wal.records: their presence says the usage was measured,
// so an absent counter next to them is 0. Without them nothing was measured
// (the feature is off, or the major version lacks that counter).
import type { Attributes } from '@opentelemetry/api';
import { decodeBufferUsage, decodeWalUsage } from '../pg/usage-layout';
import type { Inside } from './assemble';

const BUFFER_ATTRIBUTES: [string, string][] = [
  ['sharedHit', 'postgresql.buffers.shared.hit'],
  ['sharedRead', 'postgresql.buffers.shared.read'],
  ['sharedDirtied', 'postgresql.buffers.shared.dirtied'],
  ['sharedWritten', 'postgresql.buffers.shared.written'],
  ['localHit', 'postgresql.buffers.local.hit'],
  ['localRead', 'postgresql.buffers.local.read'],
  ['localDirtied', 'postgresql.buffers.local.dirtied'],
  ['localWritten', 'postgresql.buffers.local.written'],
  ['tempRead', 'postgresql.buffers.temp.read'],
  ['tempWritten', 'postgresql.buffers.temp.written'],
  ['sharedReadMs', 'postgresql.io.shared.read_ms'],
  ['sharedWriteMs', 'postgresql.io.shared.write_ms'],
  ['localReadMs', 'postgresql.io.local.read_ms'],
  ['localWriteMs', 'postgresql.io.local.write_ms'],
  ['tempReadMs', 'postgresql.io.temp.read_ms'],
  ['tempWriteMs', 'postgresql.io.temp.write_ms'],
];

const WAL_ATTRIBUTES: [string, string][] = [
  ['walRecords', 'postgresql.wal.records'],
  ['walFpi', 'postgresql.wal.fpi'],
  ['walBytes', 'postgresql.wal.bytes'],
  ['walBuffersFull', 'postgresql.wal.buffers_full'],
];

const ALWAYS = new Set(['postgresql.buffers.shared.hit', 'postgresql.buffers.shared.read', 'postgresql.wal.records']);

function deltas(out: Attributes, names: [string, string][], a: Record<string, number | undefined>, b: Record<string, number | undefined>): boolean {
  const found: Attributes = {};
  for (const [field, attr] of names) {
    const x = a[field];
    const y = b[field];
    if (x === undefined || y === undefined) continue;
    // a counter going backwards is a layout we misread: say nothing rather than a wrong number
    if (y < x) return false;
    if (y > x || ALWAYS.has(attr)) found[attr] = y - x;
  }
  Object.assign(out, found);
  return true;
}

/** null when the statement has no snapshots or its major's layout is unknown. */
export function usageAttributes(major: number, usage: Inside['usage']): Attributes | null {
  if (!usage) return null;
  const b0 = decodeBufferUsage(major, usage.begin.buffers);
  const b1 = decodeBufferUsage(major, usage.end.buffers);
  const w0 = decodeWalUsage(major, usage.begin.wal);
  const w1 = decodeWalUsage(major, usage.end.wal);
  const out: Attributes = {};
  type Counters = Record<string, number | undefined>;
  if (b0 && b1) deltas(out, BUFFER_ATTRIBUTES, b0 as unknown as Counters, b1 as unknown as Counters);
  if (w0 && w1) deltas(out, WAL_ATTRIBUTES, w0 as unknown as Counters, w1 as unknown as Counters);
  return Object.keys(out).length > 0 ? out : null;
}
