// Assembles statements from the kernel's records, per backend. A request
// cycle runs from a traced start record to the backend's idle mark; inside
// it, marks open and close phases. Rules that hold for both probe sets:
//
// - A phase ends at its end mark; when the build has no end mark for it, at
//   the next mark that can only come after it (execute ends at the commit
//   begin or the row count; commit ends at idle).
// - A phase without its begin mark starts where the previous one ended
//   (parse starts at the start record).
// - In a multi-statement string, a plan or execute begin after a finished
//   execution starts the next statement; parsing is shared and belongs to
//   the first one.
// - Commit marks belong to the last statement of the cycle, whatever their
//   order relative to its row count (simple and extended protocol differ).
import type { EventSink, StartRecord } from '../events/decode';
import { MarkKind } from '../events/layout';

export type PhaseName = 'parse' | 'plan' | 'execute' | 'commit';

export interface Phase {
  name: PhaseName;
  startNs: number;
  endNs: number;
}

export interface Statement {
  start: StartRecord;
  /** position in a multi-statement string (0-based) */
  index: number;
  startNs: number;
  endNs: number;
  phases: Phase[];
  rows: number | null;
  /** five-character SQLSTATE when the statement failed */
  sqlstate: string | null;
  failed: boolean;
  /** the cycle ended without an idle mark (backend exited, records lost) */
  incomplete: boolean;
}

interface Open {
  parse: [number | null, number | null];
  plan: [number | null, number | null];
  exec: [number | null, number | null];
  commit: [number | null, number | null];
  startNs: number;
  endNs: number | null;
  rows: number | null;
  executed: boolean;
}

interface Cycle {
  start: StartRecord;
  done: Statement[];
  cur: Open;
  lastNs: number;
  parsed: boolean;
  aborted: boolean;
  sqlstate: number | null;
}

export function decodeSqlstate(code: number): string {
  let s = '';
  for (let i = 0; i < 5; i++) s += String.fromCharCode(((code >> (6 * i)) & 0x3f) + 0x30);
  return s;
}

const fresh = (startNs: number): Open => ({
  parse: [null, null], plan: [null, null], exec: [null, null], commit: [null, null],
  startNs, endNs: null, rows: null, executed: false,
});

export class Assembler implements EventSink {
  private cycles = new Map<number, Cycle>();
  /** marks for a backend with no open cycle (its start record was lost) */
  orphanMarks = 0;

  constructor(private readonly emit: (s: Statement) => void) {}

  get openCycles(): number {
    return this.cycles.size;
  }

  start(r: StartRecord): void {
    const prev = this.cycles.get(r.pid);
    if (prev) this.finish(prev, prev.lastNs, true); // idle mark lost
    this.cycles.set(r.pid, {
      start: r, done: [], cur: fresh(r.tsNs), lastNs: r.tsNs, parsed: false, aborted: false, sqlstate: null,
    });
  }

  mark(pid: number, ts: number, kind: number, value: number): void {
    const c = this.cycles.get(pid);
    if (!c) {
      this.orphanMarks++;
      return;
    }
    c.lastNs = ts;
    const o = c.cur;
    switch (kind) {
      case MarkKind.PARSE_BEGIN:
        if (!c.parsed) o.parse[0] = ts;
        break;
      case MarkKind.PARSE_END:
        if (c.parsed) {
          if (o.executed) this.next(c, ts);
        } else {
          o.parse[1] = ts;
          c.parsed = true;
        }
        break;
      case MarkKind.PLAN_BEGIN:
        if (o.executed) this.next(c, ts);
        c.cur.plan[0] = ts;
        break;
      case MarkKind.PLAN_END:
        if (o.plan[0] !== null) o.plan[1] = ts;
        break;
      case MarkKind.EXEC_BEGIN:
        if (o.executed) this.next(c, ts);
        c.cur.exec[0] = ts;
        break;
      case MarkKind.EXEC_END:
        o.exec[1] = ts;
        o.executed = true;
        break;
      case MarkKind.ROWS:
        if (o.exec[0] !== null && o.exec[1] === null) o.exec[1] = ts;
        o.rows = value;
        o.endNs = ts;
        o.executed = true;
        break;
      case MarkKind.COMMIT_BEGIN:
        if (o.exec[0] !== null && o.exec[1] === null) {
          o.exec[1] = ts;
          o.executed = true;
        }
        o.commit[0] = ts;
        break;
      case MarkKind.COMMIT_END:
        o.commit[1] = ts;
        break;
      case MarkKind.ABORT:
        c.aborted = true;
        break;
      case MarkKind.SQLSTATE:
        c.sqlstate = value;
        break;
      case MarkKind.IDLE:
        this.finish(c, ts, false);
        break;
      default:
        break;
    }
  }

  /** Ends cycles of backends that are gone (no idle mark will come). */
  sweep(isAlive: (pid: number) => boolean): void {
    for (const [pid, c] of this.cycles) if (!isAlive(pid)) this.finish(c, c.lastNs, true);
  }

  /** Ends every open cycle (collector shutting down). */
  flush(): void {
    for (const c of [...this.cycles.values()]) this.finish(c, c.lastNs, true);
  }

  private next(c: Cycle, ts: number): void {
    const prevEnd = c.cur.endNs ?? c.cur.exec[1] ?? ts;
    c.done.push(this.close(c, c.cur, prevEnd, c.done.length, false, false));
    c.cur = fresh(prevEnd);
  }

  private close(c: Cycle, o: Open, endNs: number, index: number, last: boolean, incomplete: boolean): Statement {
    const phases: Phase[] = [];
    const add = (name: PhaseName, b: number | null, e: number | null) => {
      if (b === null || e === null || e < b) return;
      phases.push({ name, startNs: b, endNs: e });
    };
    if (index === 0 && o.parse[1] !== null) add('parse', o.parse[0] ?? c.start.tsNs, o.parse[1]);
    add('plan', o.plan[0], o.plan[1]);
    const execEnd = o.exec[1] ?? o.commit[0] ?? o.endNs ?? (last ? endNs : null);
    add('execute', o.exec[0] ?? o.plan[1], o.exec[0] !== null || o.plan[1] !== null ? execEnd : null);
    if (last && (o.commit[0] !== null || o.commit[1] !== null)) {
      add('commit', o.commit[0] ?? execEnd, o.commit[1] ?? endNs);
    }
    const failed = last && (c.aborted || (c.sqlstate !== null && !/^0[012]/.test(decodeSqlstate(c.sqlstate))));
    return {
      start: c.start,
      index,
      startNs: index === 0 ? c.start.tsNs : o.startNs,
      endNs: last ? endNs : (o.endNs ?? endNs),
      phases,
      rows: o.rows,
      sqlstate: failed ? (c.sqlstate !== null ? decodeSqlstate(c.sqlstate) : 'XX000') : null,
      failed,
      incomplete,
    };
  }

  private finish(c: Cycle, endNs: number, incomplete: boolean): void {
    this.cycles.delete(c.start.pid);
    for (const s of c.done) this.emit(s);
    this.emit(this.close(c, c.cur, endNs, c.done.length, true, incomplete));
  }
}
