// INTERIM (replaced by the per-major tables)
const CLASSES: Record<number, string> = { 1: 'LWLock', 3: 'Lock', 4: 'BufferPin', 5: 'Activity', 6: 'Client', 7: 'Extension', 8: 'IPC', 9: 'Timeout', 10: 'IO' };
export function waitEventName(_major: number, info: number): { type: string; name: string } | null {
  const c = CLASSES[info >>> 24];
  return c ? { type: c, name: `#${info & 0xffff}` } : null;
}
const MODES = ['', 'AccessShareLock', 'RowShareLock', 'RowExclusiveLock', 'ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock', 'AccessExclusiveLock'];
export const lockModeName = (m: number) => MODES[m] || null;
const TAGS = ['relation', 'extend', 'frozenid', 'page', 'tuple', 'transactionid', 'virtualxid', 'spectoken', 'object', 'userlock', 'advisory'];
export const lockTagTypeName = (_major: number, t: number) => TAGS[t] ?? null;
export const procWaitEventOffset = (_major: number): number | null => null;
