// Where off-CPU intervals become wait spans and per-phase wait totals. A
// wait at least the threshold long is its own span under the phase it
// happened in; shorter ones are summed per wait event on that phase, so a
// statement with ten thousand short LWLock waits stays a handful of spans.
import type { Attributes } from '@opentelemetry/api';
import { waitEventLabel } from '../pg/wait-events';
import type { WaitInterval } from './assemble';
import { A } from './attributes';

export interface NamedWait extends WaitInterval {
  type: string;
  name: string;
}

const PG_WAIT_LOCK = 0x03;

/** What a wait is called: PostgreSQL's name, CPU:Runnable when preempted, Other:OffCPU when no event was published. */
export function nameWait(major: number, w: WaitInterval): NamedWait {
  if (w.runnable) return { ...w, type: 'CPU', name: 'Runnable' };
  if (w.event === 0) return { ...w, type: 'Other', name: 'OffCPU' };
  // an id this major's table does not know is named by class and id (IPC #51), never guessed
  return { ...w, ...waitEventLabel(major, w.event) };
}

export const isLockWait = (w: WaitInterval) => !w.runnable && w.event >>> 24 === PG_WAIT_LOCK;

/** Attributes of the short waits of one phase: parallel arrays, one entry per wait event. */
export function shortWaitAttributes(waits: NamedWait[]): Attributes | null {
  if (waits.length === 0) return null;
  const byEvent = new Map<string, { count: number; ns: number }>();
  for (const w of waits) {
    const key = `${w.type}:${w.name}`;
    const t = byEvent.get(key) ?? { count: 0, ns: 0 };
    t.count++;
    t.ns += w.endNs - w.startNs;
    byEvent.set(key, t);
  }
  const events = [...byEvent.keys()];
  return {
    [A.waitsEvents]: events,
    [A.waitsCounts]: events.map((e) => byEvent.get(e)!.count),
    [A.waitsTotalMs]: events.map((e) => byEvent.get(e)!.ns / 1e6),
  };
}

export function waitAttributes(w: NamedWait): Attributes {
  return { [A.waitEventType]: w.type, [A.waitEventName]: w.name };
}
