// Where a statement's buffer and WAL counters become attributes, named like
// EXPLAIN (ANALYZE, BUFFERS, WAL) prints them. Like EXPLAIN, a counter that
// stayed 0 is left out (fewer bytes on every span), except shared.hit,
// shared.read and wal.records: their presence says the usage was measured,
// so an absent counter next to them is 0. Without them nothing was measured
// (the feature is off, or the major version lacks that counter).
import type { Attributes } from '@opentelemetry/api';
import { decodeBufferUsage, decodeWalUsage } from '../pg/usage-layout';
import type { Inside } from './assemble';
import { A } from './attributes';

const BUFFER_ATTRIBUTES: [string, string][] = [
  ['sharedHit', A.buffersSharedHit],
  ['sharedRead', A.buffersSharedRead],
  ['sharedDirtied', A.buffersSharedDirtied],
  ['sharedWritten', A.buffersSharedWritten],
  ['localHit', A.buffersLocalHit],
  ['localRead', A.buffersLocalRead],
  ['localDirtied', A.buffersLocalDirtied],
  ['localWritten', A.buffersLocalWritten],
  ['tempRead', A.buffersTempRead],
  ['tempWritten', A.buffersTempWritten],
  ['sharedReadMs', A.ioSharedReadMs],
  ['sharedWriteMs', A.ioSharedWriteMs],
  ['localReadMs', A.ioLocalReadMs],
  ['localWriteMs', A.ioLocalWriteMs],
  ['tempReadMs', A.ioTempReadMs],
  ['tempWriteMs', A.ioTempWriteMs],
];

const WAL_ATTRIBUTES: [string, string][] = [
  ['walRecords', A.walRecords],
  ['walFpi', A.walFpi],
  ['walBytes', A.walBytes],
  ['walBuffersFull', A.walBuffersFull],
];

const ALWAYS = new Set<string>([A.buffersSharedHit, A.buffersSharedRead, A.walRecords]);

type Counters = Record<string, number | undefined>;

/** false when a counter went backwards: a layout we misread, so nothing is said rather than a wrong number */
function add(out: Attributes, names: [string, string][], delta: Counters): boolean {
  const found: Attributes = {};
  for (const [field, attr] of names) {
    const d = delta[field];
    if (d === undefined) continue;
    if (d < 0) return false;
    if (d > 0 || ALWAYS.has(attr)) found[attr] = d;
  }
  Object.assign(out, found);
  return true;
}

/** null when the statement has no usage or its major's layout is unknown. */
export function usageAttributes(major: number, usage: Inside['usage']): Attributes | null {
  if (!usage) return null;
  const buffers = decodeBufferUsage(major, usage.buffers);
  const wal = decodeWalUsage(major, usage.wal);
  const out: Attributes = {};
  if (buffers) add(out, BUFFER_ATTRIBUTES, buffers as unknown as Counters);
  if (wal) add(out, WAL_ATTRIBUTES, wal as unknown as Counters);
  return Object.keys(out).length > 0 ? out : null;
}
