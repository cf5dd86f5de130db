// Where the SPI records of a statement become nested statements. Begins and
// ends are paired by stack pointer, not counted: an error raised inside a
// nested statement unwinds (longjmp) past its end probe and its callers', so
// a begin at the same or a shallower stack position than an open one means
// the open one was left by an error.
import type { NestRecord } from '../events/decode';
import { Edge, NestText } from '../events/layout';

export interface NestedStatement {
  depth: number;
  /** index (in begin order) of the nested statement it ran inside; -1: the top statement */
  parent: number;
  startNs: number;
  endNs: number;
  /** null when the text could not be read; for capped ones, the text of an earlier run of the same plan */
  text: string | null;
  textPtr: bigint;
  capped: boolean;
  rows: number | null;
  /** left by an error raised inside it */
  failed: boolean;
}

/** `endNs`: when the top statement ended (closes what an error left open). */
export function pairNested(records: NestRecord[], endNs: number): NestedStatement[] {
  const out: NestedStatement[] = [];
  const open: { i: number; sp: bigint }[] = [];
  const textOf = new Map<bigint, string>();
  const abandon = (until: number, at: number) => {
    while (open.length > until) {
      const f = open.pop()!;
      out[f.i].endNs = at;
      out[f.i].failed = true;
    }
  };
  for (const r of records) {
    if (r.edge === Edge.BEGIN) {
      let keep = open.length;
      while (keep > 0 && open[keep - 1].sp <= r.sp) keep--;
      abandon(keep, r.tsNs);
      if (r.textState === NestText.SENT) textOf.set(r.textPtr, r.text);
      out.push({
        depth: open.length + 1,
        parent: open.length > 0 ? open[open.length - 1].i : -1,
        startNs: r.tsNs,
        endNs: endNs,
        text: r.textState === NestText.SENT ? r.text : (textOf.get(r.textPtr) ?? null),
        textPtr: r.textPtr,
        capped: r.textState === NestText.CAPPED,
        rows: null,
        failed: false,
      });
      open.push({ i: out.length - 1, sp: r.sp });
      continue;
    }
    const at = open.findLastIndex((f) => f.sp === r.sp - 8n);
    if (at < 0) continue;
    abandon(at + 1, r.tsNs);
    const f = open.pop()!;
    const n = out[f.i];
    n.endNs = r.tsNs;
    n.rows = r.rows;
    n.failed = r.result < 0;
  }
  abandon(0, endNs);
  return out;
}

export interface NestedAggregate {
  text: string | null;
  calls: number;
  totalNs: number;
  rows: number;
  failed: number;
  startNs: number;
  endNs: number;
}

/** The first `cap` stay statements of their own; the rest are summed per text. */
export function capNested(all: NestedStatement[], cap: number): { kept: NestedStatement[]; aggregates: NestedAggregate[] } {
  const kept = all.slice(0, cap);
  const byText = new Map<string, NestedAggregate>();
  for (const n of all.slice(cap)) {
    const key = n.text ?? `#${n.textPtr}`;
    let a = byText.get(key);
    if (!a) {
      a = { text: n.text, calls: 0, totalNs: 0, rows: 0, failed: 0, startNs: n.startNs, endNs: n.endNs };
      byText.set(key, a);
    }
    a.calls++;
    a.totalNs += n.endNs - n.startNs;
    a.rows += n.rows ?? 0;
    if (n.failed) a.failed++;
    a.startNs = Math.min(a.startNs, n.startNs);
    a.endNs = Math.max(a.endNs, n.endNs);
  }
  return { kept, aggregates: [...byText.values()] };
}
