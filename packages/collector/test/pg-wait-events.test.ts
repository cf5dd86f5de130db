// Wait events decoded per major. The expected ids are what
// pgstat_get_wait_event() of each major's binary returned for them (see the
// table's comments); root test/pg-tables.test.ts checks the whole table of
// the binaries installed here.
import * as path from 'node:path';
import { debianBinDir } from '../../demo/src/cluster';
import { readElf } from '../src/discover/elf';
import { binaryWaitEventCounts, waitEventsMissingFromTable } from '../src/pg/wait-event-check';
import { WAIT_EVENT_NAMES } from '../src/pg/wait-event-names';
import { lockModeName, lockTagTypeName, waitEventLabel, waitEventName } from '../src/pg/wait-events';

const ev = (type: string, name: string) => ({ type, name });
const info = (cls: number, id: number) => ((cls << 24) | id) >>> 0;

test('PostgreSQL 15', () => {
  expect(waitEventName(15, info(0x0a, 17))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(15, info(0x0a, 72))).toEqual(ev('IO', 'WALWrite'));
  expect(waitEventName(15, info(0x01, 8))).toEqual(ev('LWLock', 'WALWrite'));
  expect(waitEventName(15, info(0x01, 61))).toEqual(ev('LWLock', 'LockManager'));
  expect(waitEventName(15, info(0x01, 74))).toEqual(ev('LWLock', 'PgStatsData'));
  expect(waitEventName(15, info(0x01, 75))).toEqual(ev('LWLock', 'extension'));
  expect(waitEventName(15, info(0x01, 10))).toBeNull(); // unused individual LWLock id
  expect(waitEventName(15, info(0x06, 0))).toEqual(ev('Client', 'ClientRead'));
  expect(waitEventName(15, info(0x09, 2))).toEqual(ev('Timeout', 'PgSleep'));
  expect(waitEventName(15, info(0x03, 5))).toEqual(ev('Lock', 'transactionid'));
  expect(waitEventName(15, info(0x03, 11))).toBeNull(); // applytransaction came in 16
  expect(waitEventName(15, info(0x05, 0))).toEqual(ev('Activity', 'ArchiverMain'));
  expect(waitEventName(15, info(0x08, 51))).toEqual(ev('IPC', 'WalReceiverUpstreamCatchup')); // appended in 15.20
  expect(waitEventName(15, info(0x08, 52))).toBeNull();
  expect(waitEventName(15, info(0x04, 0))).toEqual(ev('BufferPin', 'BufferPin'));
  expect(waitEventName(15, info(0x07, 0))).toEqual(ev('Extension', 'Extension'));
  expect(waitEventName(15, info(0x07, 3))).toEqual(ev('Extension', 'Extension'));
});

test('PostgreSQL 13: the Checkpoint LWLock and the BufferIO tranche it still had', () => {
  expect(waitEventName(13, info(0x0a, 13))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(13, info(0x09, 1))).toEqual(ev('Timeout', 'PgSleep'));
  expect(waitEventName(13, info(0x09, 5))).toEqual(ev('Timeout', 'RegisterSyncRequest'));
  expect(waitEventName(13, info(0x01, 10))).toEqual(ev('LWLock', 'Checkpoint'));
  expect(waitEventName(13, info(0x01, 49))).toEqual(ev('LWLock', 'CommitTsBuffer'));
  expect(waitEventName(13, info(0x01, 57))).toEqual(ev('LWLock', 'BufferIO'));
  expect(waitEventName(13, info(0x01, 73))).toEqual(ev('LWLock', 'extension'));
  expect(waitEventName(13, info(0x01, 0))).toBeNull();
});

test('PostgreSQL 14 and 16', () => {
  expect(waitEventName(14, info(0x0a, 15))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(14, info(0x01, 72))).toEqual(ev('LWLock', 'extension'));
  expect(waitEventName(16, info(0x0a, 17))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(16, info(0x03, 11))).toEqual(ev('Lock', 'applytransaction'));
  expect(waitEventName(16, info(0x01, 76))).toEqual(ev('LWLock', 'LogicalRepLauncherHash'));
  expect(waitEventName(16, info(0x01, 77))).toEqual(ev('LWLock', 'extension'));
});

test('PostgreSQL 17 and 18: generated names, sorted within each class', () => {
  expect(waitEventName(17, info(0x0a, 17))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(17, info(0x0a, 76))).toEqual(ev('IO', 'WalWrite')); // IO WALWrite became WalWrite
  expect(waitEventName(17, info(0x01, 8))).toEqual(ev('LWLock', 'WALWrite'));
  expect(waitEventName(17, info(0x01, 85))).toEqual(ev('LWLock', 'MultiXactMemberSLRU'));
  expect(waitEventName(17, info(0x01, 92))).toEqual(ev('LWLock', 'extension'));
  expect(waitEventName(18, info(0x0a, 0))).toEqual(ev('IO', 'AioIoCompletion'));
  expect(waitEventName(18, info(0x0a, 21))).toEqual(ev('IO', 'DataFileRead'));
  expect(waitEventName(18, info(0x09, 2))).toEqual(ev('Timeout', 'PgSleep'));
  expect(waitEventName(18, info(0x01, 53))).toEqual(ev('LWLock', 'AioWorkerSubmissionQueue'));
  expect(waitEventName(18, info(0x01, 94))).toEqual(ev('LWLock', 'AioUringCompletion'));
  expect(waitEventName(18, info(0x01, 95))).toEqual(ev('LWLock', 'extension'));
  expect(waitEventName(18, info(0x08, 57))).toBeNull();
  // custom events and injection points are named at run time, in shared memory
  expect(waitEventName(17, info(0x07, 0))).toEqual(ev('Extension', 'Extension'));
  expect(waitEventName(17, info(0x07, 1))).toBeNull();
  expect(waitEventName(18, info(0x0b, 1))).toBeNull();
  expect(waitEventName(18, info(0x04, 1))).toBeNull();
});

test('not waiting, unknown classes and majors', () => {
  expect(waitEventName(15, 0)).toBeNull();
  expect(waitEventName(15, info(0x02, 0))).toBeNull();
  expect(waitEventName(16, info(0x0b, 0))).toBeNull();
  expect(waitEventName(12, info(0x06, 0))).toBeNull();
  expect(waitEventName(19, info(0x06, 0))).toBeNull();
});

test('every major: named built-in LWLocks end where extension tranches begin, no name twice in a class', () => {
  const firstExtension: Record<number, number> = { 13: 73, 14: 72, 15: 75, 16: 77, 17: 92, 18: 95 };
  expect(Object.keys(WAIT_EVENT_NAMES).map(Number)).toEqual([13, 14, 15, 16, 17, 18]);
  for (const [major, t] of Object.entries(WAIT_EVENT_NAMES)) {
    expect(t.lwlock.length).toBe(firstExtension[Number(major)]);
    for (const names of [t.lwlock.filter((n) => n !== null), t.lock, t.activity, t.client, t.ipc, t.timeout, t.io]) {
      expect(new Set(names).size).toBe(names.length);
    }
  }
});

test('lock modes and locktag types', () => {
  expect(lockModeName(1)).toBe('AccessShareLock');
  expect(lockModeName(5)).toBe('ShareLock');
  expect(lockModeName(8)).toBe('AccessExclusiveLock');
  expect(lockModeName(0)).toBeNull();
  expect(lockModeName(9)).toBeNull();
  expect(lockTagTypeName(15, 0)).toBe('relation');
  expect(lockTagTypeName(15, 4)).toBe('tuple');
  expect(lockTagTypeName(15, 5)).toBe('transactionid');
  expect(lockTagTypeName(15, 10)).toBe('advisory');
  expect(lockTagTypeName(15, 11)).toBeNull();
  expect(lockTagTypeName(18, 11)).toBe('applytransaction');
  expect(lockTagTypeName(12, 0)).toBeNull();
});

test('an event the table lacks is named by its class and number, never "unknown"', () => {
  expect(waitEventLabel(15, info(0x08, 52))).toEqual(ev('IPC', '#52'));
  expect(waitEventLabel(15, info(0x0a, 900))).toEqual(ev('IO', '#900'));
  expect(waitEventLabel(17, info(0x07, 3))).toEqual(ev('Extension', '#3')); // a custom event, named in shared memory
  expect(waitEventLabel(99, info(0x06, 0))).toEqual(ev('Client', '#0')); // a major the table does not know
  expect(waitEventLabel(15, info(0x0c, 1))).toEqual(ev('Class0xc', '#1'));
  expect(waitEventLabel(15, info(0x0a, 17))).toEqual(ev('IO', 'DataFileRead'));
});

test("at attach: the installed Debian binary's wait events that a table lacks, read from its code", () => {
  const exe = path.join(debianBinDir(), 'postgres');
  const major = Number(path.basename(path.dirname(debianBinDir())));
  const elf = readElf(exe);
  const counts = binaryWaitEventCounts(exe, elf);
  expect([...counts.keys()].sort((a, b) => a - b)).toEqual([0x05, 0x06, 0x08, 0x09, 0x0a]);
  const t = WAIT_EVENT_NAMES[major];
  const ipc = counts.get(0x08)!;
  // the table is of this minor or a newer one: nothing missing
  expect(t.ipc.length).toBeGreaterThanOrEqual(ipc);
  expect(waitEventsMissingFromTable(major, exe, elf)).toEqual([]);
  // a table two IPC events short of the binary (as an older pgferret meets a newer minor)
  const older = { ...t, ipc: t.ipc.slice(0, ipc - 2) };
  expect(waitEventsMissingFromTable(major, exe, elf, older)).toEqual([`IPC:#${ipc - 2}`, `IPC:#${ipc - 1}`]);
  expect(waitEventsMissingFromTable(major, exe, elf, undefined)).toEqual([]);
});
