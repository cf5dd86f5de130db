// When each backend had its probes: the span it is armed now, and the spans
// that ended (disarmed by the budget, idle, exited), remembered for a while.
// The pipeline may assemble a statement well after it ran (the collector
// behind on its ring buffer): whether it is timed depends on the probes it
// ran under, not on what is armed when it is assembled.

/** How long an ended span is remembered (a pipeline further behind than this finds its statements untimed). */
export const PAST_KEPT_MS = 60_000;
/** ended spans remembered per backend (the budget may disarm and arm one again and again) */
export const PAST_PER_BACKEND = 8;

interface Ended {
  sinceNs: number;
  untilNs: number;
  /** when it ended, Date.now() */
  atMs: number;
}

export class ArmedSpans {
  /** CLOCK_MONOTONIC ns since which each armed backend has its probes */
  private now = new Map<number, number>();
  private past = new Map<number, Ended[]>();

  armed(pid: number, sinceNs: number): void {
    this.now.set(pid, sinceNs);
  }

  /** Its probes are being taken away at untilNs. */
  ended(pid: number, untilNs: number, atMs = Date.now()): void {
    const sinceNs = this.now.get(pid);
    if (sinceNs === undefined) return;
    this.now.delete(pid);
    const spans = this.past.get(pid) ?? [];
    spans.push({ sinceNs, untilNs, atMs });
    if (spans.length > PAST_PER_BACKEND) spans.shift();
    this.past.set(pid, spans);
  }

  /**
   * Whether the backend had its probes all through [startNs, endNs]: probes
   * that came or left while a statement ran would give it some phases and
   * not others.
   */
  covers(pid: number, startNs: number, endNs: number): boolean {
    const since = this.now.get(pid);
    if (since !== undefined && since <= startNs) return true;
    return this.past.get(pid)?.some((p) => p.sinceNs <= startNs && endNs <= p.untilNs) ?? false;
  }

  /** Forgets the spans that ended more than PAST_KEPT_MS before nowMs. */
  prune(nowMs = Date.now()): void {
    for (const [pid, spans] of this.past) {
      const kept = spans.filter((p) => nowMs - p.atMs < PAST_KEPT_MS);
      if (kept.length) this.past.set(pid, kept);
      else this.past.delete(pid);
    }
  }
}
