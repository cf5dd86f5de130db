// The collector's CPU priority. It shares the host's CPUs with the database
// it traces: when they are busy, the backends run first and the collector
// falls behind (its ring buffer drops records, counted) rather than the
// other way round. Linux keeps a nice value per thread: the threads running
// now (V8's workers, libuv's pool, the loader's detachers) are set one by
// one; threads started later inherit it from the thread that starts them.
import * as fs from 'node:fs';
import * as os from 'node:os';

export const DEFAULT_NICE = 19;

function errno(e: unknown): string | undefined {
  return (e as { info?: { code?: string } }).info?.code;
}

/** Sets every thread of this process to `nice`; returns how many it set. */
export function setNice(nice: number): number {
  let set = 0;
  for (const tid of fs.readdirSync('/proc/self/task').map(Number)) {
    try {
      os.setPriority(tid, nice);
      set++;
    } catch (e) {
      if (errno(e) === 'ESRCH') continue; // the thread ended meanwhile
      throw new Error(
        `could not set the collector's CPU priority to nice ${nice}: ${(e as Error).message}. ` +
          `A lower nice than the collector was started with needs root or CAP_SYS_NICE: run it as root, or pass --nice ${os.getPriority()} (its nice now)`,
      );
    }
  }
  return set;
}
