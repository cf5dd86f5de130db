// Span and trace ids from a pooled random buffer: one randomFillSync and one
// hex conversion per 2,048 id bytes, each id a slice of that hex string
// (V8 slices long strings without copying) instead of a native call per id.
// Ids need to be unique, not secret; crypto-quality randomness still.
import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(2048);
let hex = '';
let pos = 0;

function take(bytes: number): string {
  if (pos + bytes * 2 > hex.length) {
    hex = randomFillSync(pool).toString('hex');
    pos = 0;
  }
  const s = hex.slice(pos, pos + bytes * 2);
  pos += bytes * 2;
  return s;
}

export const newSpanId = (): string => take(8);
export const newTraceId = (): string => take(16);
