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

export class OpenStatements {
  /** per backend: its open units by number */
  private open = new Map<number, Map<number, SpanRef>>();
  /** the last sampled statement of each backend whose transaction is still open */
  private lastInTx = new Map<number, SpanRef>();

  opened(pid: number, unit: number, ref: SpanRef): void {
    let units = this.open.get(pid);
    if (!units) {
      units = new Map();
      this.open.set(pid, units);
    }
    units.set(unit, ref);
  }

  /** A unit ended with its request cycle; `status` is the cycle's transaction status. */
  ended(pid: number, unit: number, status: string): void {
    const ref = this.open.get(pid)?.get(unit);
    this.open.get(pid)?.delete(unit);
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
    let first: [number, SpanRef] | null = null;
    for (const u of this.open.get(pid) ?? []) if (!first || before(u[0], first[0])) first = u;
    if (first) return first[1];
    return this.lastInTx.get(pid) ?? null;
  }
}
