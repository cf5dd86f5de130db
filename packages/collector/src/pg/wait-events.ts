// Decodes the uint32 wait_event_info a backend publishes (my_wait_event_info
// from PG 14; PG 13 has no such global and writes MyProc->wait_event_info)
// into the strings pg_stat_activity shows as wait_event_type / wait_event.
import { WAIT_EVENT_NAMES } from './wait-event-names';

export interface WaitEvent {
  type: string;
  name: string;
}

// The class is the top byte (PG_WAIT_* in wait_event.h, wait_classes.h from
// 18); the event id the low 16 bits. Class 0x0B (InjectionPoint, 17+) has
// only names registered at run time in shared memory: never decoded here.
const LWLOCK = 0x01;
const LOCK = 0x03;
const BUFFERPIN = 0x04;
const ACTIVITY = 0x05;
const CLIENT = 0x06;
const EXTENSION = 0x07;
const IPC = 0x08;
const TIMEOUT = 0x09;
const IO = 0x0a;

/** wait_event_type by class byte, for events named by class and id when the table lacks them */
export const WAIT_CLASS_NAMES: Readonly<Record<number, string>> = {
  [LWLOCK]: 'LWLock',
  [LOCK]: 'Lock',
  [BUFFERPIN]: 'BufferPin',
  [ACTIVITY]: 'Activity',
  [CLIENT]: 'Client',
  [EXTENSION]: 'Extension',
  [IPC]: 'IPC',
  [TIMEOUT]: 'Timeout',
  [IO]: 'IO',
  0x0b: 'InjectionPoint',
};

function named(type: string, name: string | null | undefined): WaitEvent | null {
  return name ? { type, name } : null;
}

/** The wait event of `info` as pg_stat_activity names it, or null: not waiting, or an id/class/major not known. */
export function waitEventName(major: number, info: number): WaitEvent | null {
  const t = WAIT_EVENT_NAMES[major];
  if (!t || info === 0) return null;
  const id = info & 0xffff;
  switch (info >>> 24) {
    case LWLOCK:
      // past the built-in tranches: an extension's, named only in the backend that registered it
      return named('LWLock', id < t.lwlock.length ? t.lwlock[id] : 'extension');
    case LOCK:
      return named('Lock', t.lock[id]);
    case BUFFERPIN:
      // PostgreSQL only publishes id 0; up to 16 it names any id alike
      return id === 0 || major <= 16 ? { type: 'BufferPin', name: 'BufferPin' } : null;
    case ACTIVITY:
      return named('Activity', t.activity[id]);
    case CLIENT:
      return named('Client', t.client[id]);
    case EXTENSION:
      // from 17, ids past 0 are custom events named at run time in shared memory
      return id === 0 || major <= 16 ? { type: 'Extension', name: 'Extension' } : null;
    case IPC:
      return named('IPC', t.ipc[id]);
    case TIMEOUT:
      return named('Timeout', t.timeout[id]);
    case IO:
      return named('IO', t.io[id]);
    default:
      return null;
  }
}

/**
 * The wait event of `info` (not 0) as pg_stat_activity names it, or, when this major's table lacks
 * it (a newer minor's event, a major the table does not know), by class and id: `IPC` `#51`.
 */
export function waitEventLabel(major: number, info: number): WaitEvent {
  const known = waitEventName(major, info);
  if (known) return known;
  const cls = info >>> 24;
  return { type: WAIT_CLASS_NAMES[cls] ?? `Class0x${cls.toString(16)}`, name: `#${info & 0xffff}` };
}

// lock_mode_names[] of storage/lmgr/lock.c, the same from 13 to 18; 0 is no lock
const LOCK_MODES = [
  'AccessShareLock',
  'RowShareLock',
  'RowExclusiveLock',
  'ShareUpdateExclusiveLock',
  'ShareLock',
  'ShareRowExclusiveLock',
  'ExclusiveLock',
  'AccessExclusiveLock',
];

/** LOCKMODE 1..8 as pg_locks.mode shows it, or null. */
export function lockModeName(mode: number): string | null {
  return LOCK_MODES[mode - 1] ?? null;
}

/** A LockTagType as pg_locks.locktype shows it (relation, transactionid, …), or null. */
export function lockTagTypeName(major: number, type: number): string | null {
  return WAIT_EVENT_NAMES[major]?.lock[type] ?? null;
}
