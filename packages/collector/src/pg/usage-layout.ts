// INTERIM
export const bufferUsageSize = (m: number) => (m === 15 ? 144 : m === 18 ? 128 : null);
export const walUsageSize = (m: number) => (m === 15 ? 24 : m === 18 ? 32 : null);
export function decodeBufferUsage(_m: number, b: Buffer): Record<string, number> | null {
  const f = ['sharedHit', 'sharedRead', 'sharedDirtied', 'sharedWritten', 'localHit', 'localRead', 'localDirtied', 'localWritten', 'tempRead', 'tempWritten'];
  return Object.fromEntries(f.map((n, i) => [n, Number(b.readBigInt64LE(i * 8))]));
}
export function decodeWalUsage(_m: number, b: Buffer): Record<string, number> | null {
  return { walRecords: Number(b.readBigInt64LE(0)), walFpi: Number(b.readBigInt64LE(8)), walBytes: Number(b.readBigUInt64LE(16)) };
}
