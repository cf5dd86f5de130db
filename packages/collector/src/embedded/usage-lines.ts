// A statement's buffer, I/O timing and WAL counters as EXPLAIN (BUFFERS, WAL)
// prints them ("Buffers: shared hit=12 read=340, temp read=4 written=4"), for
// the UI and the demo alike. A counter the span does not carry was not
// measured and is left out; one it carries is printed, zero included, except
// that a local or temp group with nothing but zeros is left out as EXPLAIN
// leaves it out.
import { A } from '../spans/attributes';
import type { AttributeValue, Attributes } from './span-record';

type Counter = readonly [attribute: string, label: string];
interface Group {
  name: string;
  counters: readonly Counter[];
}

const BUFFERS: Group[] = [
  { name: 'shared', counters: [[A.buffersSharedHit, 'hit'], [A.buffersSharedRead, 'read'], [A.buffersSharedDirtied, 'dirtied'], [A.buffersSharedWritten, 'written']] },
  { name: 'local', counters: [[A.buffersLocalHit, 'hit'], [A.buffersLocalRead, 'read'], [A.buffersLocalDirtied, 'dirtied'], [A.buffersLocalWritten, 'written']] },
  { name: 'temp', counters: [[A.buffersTempRead, 'read'], [A.buffersTempWritten, 'written']] },
];
const IO_TIMINGS: Group[] = [
  { name: 'shared', counters: [[A.ioSharedReadMs, 'read'], [A.ioSharedWriteMs, 'write']] },
  { name: 'local', counters: [[A.ioLocalReadMs, 'read'], [A.ioLocalWriteMs, 'write']] },
  { name: 'temp', counters: [[A.ioTempReadMs, 'read'], [A.ioTempWriteMs, 'write']] },
];
const WAL: Group[] = [
  {
    name: '',
    counters: [
      [A.walRecords, 'records'],
      [A.walFpi, 'fpi'],
      [A.walBytes, 'bytes'],
      [A.walBuffersFull, 'buffers full'],
    ],
  },
];

/** An int64 beyond 2^53 arrives as its decimal string. */
function counterText(v: AttributeValue | undefined, decimals: number): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return decimals > 0 ? v.toFixed(decimals) : String(v);
  if (typeof v === 'string' && /^\d+$/.test(v)) return v;
  return null;
}

function line(title: string, groups: Group[], attrs: Attributes, decimals: number): string | null {
  const parts: string[] = [];
  for (const [i, g] of groups.entries()) {
    const values = g.counters.flatMap(([key, label]) => {
      const text = counterText(attrs[key], decimals);
      return text === null ? [] : [`${label}=${text}`];
    });
    if (values.length === 0) continue;
    if (i > 0 && values.every((v) => /=0(\.0+)?$/.test(v))) continue;
    parts.push([g.name, ...values].filter((s) => s !== '').join(' '));
  }
  return parts.length === 0 ? null : `${title}: ${parts.join(', ')}`;
}

/** "Buffers: …", "I/O Timings: …", "WAL: …": those the span has counters for. */
export function usageLines(attrs: Attributes): string[] {
  return [line('Buffers', BUFFERS, attrs, 0), line('I/O Timings', IO_TIMINGS, attrs, 3), line('WAL', WAL, attrs, 0)].filter(
    (l): l is string => l !== null,
  );
}
