// Span and trace ids from a pooled random buffer: one randomFillSync per
// 512 span ids instead of a native call per id (ids need to be unique, not
// secret; crypto-quality randomness still).
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(4096);
let pos = pool.length;

function take(bytes: number): string {
  if (pos + bytes > pool.length) {
    randomFillSync(pool);
    pos = 0;
  }
  const s = pool.toString('hex', pos, pos + bytes);
  pos += bytes;
  return s;
}

export const newSpanId = (): string => take(8);
export const newTraceId = (): string => take(16);
