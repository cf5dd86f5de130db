// The sampled statement each backend is in, for the lock waits it blocks.
// The assembler writes it as units open and request cycles end; the blocker
// lookup (an enrich stage) reads it. Kept apart so that a later stage never
// calls back into the assembler.

/** The span a waiter links to. */
export interface SpanRef {
  traceId: string | null;
  spanId: string;
}

/** a precedes b in the kernel's wrapping u32 unit numbering */
export const before = (a: number, b: number) => ((b - a) >>> 0) !== 0 && ((b - a) >>> 0) < 0x80000000;

interface OpenUnit extends SpanRef {
  unit: number;
}

export class OpenStatements {
  /** per backend: its open units, oldest first (a list: they end in order, and a Map emptied every statement reallocates) */
  private open = new Map<number, OpenUnit[]>();
  /** the last sampled statement of each backend whose transaction is still open */
  private lastInTx = new Map<number, SpanRef>();

  opened(pid: number, unit: number, traceId: string | null, spanId: string): void {
    let units = this.open.get(pid);
    if (!units) {
      units = [];
      this.open.set(pid, units);
    }
    // a unit number opened again (replaced): searched from the newest, where it would be
    for (let i = units.length - 1; i >= 0; i--) {
      if (units[i].unit !== unit) continue;
      units[i] = { unit, traceId, spanId };
      return;
    }
    units.push({ unit, traceId, spanId });
  }

  /** A unit ended with its request cycle; `status` is the cycle's transaction status. */
  ended(pid: number, unit: number, status: string): void {
    const units = this.open.get(pid) ?? [];
    // cycles end their units oldest first: found at the front
    let at = 0;
    while (at < units.length && units[at].unit !== unit) at++;
    const ref = units[at];
    if (at === 0) units.shift();
    else if (at < units.length) units.splice(at, 1);
    if (ref && (status === 'T' || status === 'E')) this.lastInTx.set(pid, ref);
  }

  /** The cycle ended outside a transaction: nothing of it holds locks now. */
  idle(pid: number): void {
    this.lastInTx.delete(pid);
  }

  /** The backend's units ended without their cycle (it exited, records were lost) or it is gone. */
  gone(pid: number): void {
    this.open.delete(pid);
    this.lastInTx.delete(pid);
  }

  /**
   * The span a waiter links to when `pid` blocks it: the sampled statement it
   * is running, else the last one of its open transaction; null when neither.
   */
  holder(pid: number): SpanRef | null {
    let first: OpenUnit | null = null;
    for (const u of this.open.get(pid) ?? []) if (!first || before(u.unit, first.unit)) first = u;
    const ref = first ?? this.lastInTx.get(pid);
    return ref ? { traceId: ref.traceId, spanId: ref.spanId } : null;
  }
}
