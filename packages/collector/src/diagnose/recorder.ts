// Keeps what the diagnose report needs of each statement seen during the
// watch: one small object per statement, up to a bound (beyond it statements
// are only counted, so a busy server cannot exhaust the collector's memory).
import type { Statement } from '../spans/assemble';
import type { BackendInfo } from '../spans/build';
import { StatementKeyer, type StatementKeys } from '../metrics/statement-keys';

export interface Observed extends StatementKeys {
  /** wall-clock ms when the statement ended (the collector saw it) */
  atMs: number;
  durationMs: number;
  rows: number | null;
  sqlstate: string | null;
  /** the app's trace, when the statement carried a traceparent (not for sampled roots) */
  traceId: string | null;
}

export const MAX_KEPT = 500_000;

export class Recorder {
  private keyer = new StatementKeyer();
  readonly kept: Observed[] = [];
  notKept = 0;

  readonly listener = (s: Statement, backend: BackendInfo): void => {
    if (this.kept.length >= MAX_KEPT) {
      this.notKept++;
      return;
    }
    this.kept.push({
      ...this.keyer.keys(s, backend),
      atMs: Date.now(),
      durationMs: (s.endNs - s.startNs) / 1e6,
      rows: s.rows,
      sqlstate: s.failed ? (s.sqlstate ?? 'XX000') : null,
      traceId: s.start.traceId,
    });
  };
}
