// The kernel stamps records with bpf_ktime_get_ns() (CLOCK_MONOTONIC); spans
// need wall-clock time. Node's process.hrtime reads the same monotonic clock,
// so one offset converts; it is re-measured now and then to follow NTP slew.
// Plain numbers, no BigInt: monotonic nanoseconds stay below 2^53 for
// 104 days of uptime and lose only nanoseconds after that.
import type { HrTime } from '@opentelemetry/api';

/** tries at one measurement, and a pair of reads close enough to stop at */
const MEASURE_TRIES = 20;
const TIGHT_NS = 20_000;

export class MonotonicClock {
  private offsetSec = 0;
  private offsetNs = 0;
  private measuredAt = 0;
  private calls = 0;

  constructor(private readonly refreshMs = 60_000) {
    this.measure();
  }

  private measure(): void {
    // the wall clock as OTel JS reads it (timeOrigin + now) between two hrtime reads; of a few tries the
    // tightest pair: a collector preempted between its reads (it runs at nice 19) would shift every span
    let gap = Infinity;
    let monoAt = 0;
    let wallMs = 0;
    for (let i = 0; i < MEASURE_TRIES && gap > TIGHT_NS; i++) {
      const before = process.hrtime.bigint();
      const wall = performance.timeOrigin + performance.now();
      const took = Number(process.hrtime.bigint() - before);
      if (took < gap) {
        gap = took;
        monoAt = Number(before) + took / 2;
        wallMs = wall;
      }
    }
    const monoSec = Math.floor(monoAt / 1e9);
    const monoNs = monoAt - monoSec * 1e9;
    const wallSec = Math.floor(wallMs / 1000);
    const wallNs = (wallMs - wallSec * 1000) * 1e6;
    let sec = wallSec - monoSec;
    let ns = Math.round(wallNs - monoNs);
    if (ns < 0) {
      ns += 1e9;
      sec -= 1;
    } else if (ns >= 1e9) {
      ns -= 1e9;
      sec += 1;
    }
    this.offsetSec = sec;
    this.offsetNs = ns;
    this.measuredAt = Date.now();
  }

  /** Wall-clock [seconds, nanoseconds] of a monotonic timestamp in nanoseconds. */
  toHrTime(monoNs: number): HrTime {
    // a clock read every 1024 conversions, not one per timestamp
    if ((++this.calls & 1023) === 0 && Date.now() - this.measuredAt > this.refreshMs) this.measure();
    const s = Math.floor(monoNs / 1e9);
    let ns = Math.round(monoNs - s * 1e9) + this.offsetNs;
    let sec = s + this.offsetSec;
    if (ns >= 1e9) {
      ns -= 1e9;
      sec += 1;
    }
    return [sec, ns];
  }
}
