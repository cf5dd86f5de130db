// The kernel stamps records with bpf_ktime_get_ns() (CLOCK_MONOTONIC); spans
// need wall-clock time. Node's process.hrtime reads the same monotonic clock,
// so one offset converts; it is re-measured now and then to follow NTP slew.
// Plain numbers, no BigInt: monotonic nanoseconds stay below 2^53 for
// 104 days of uptime and lose only nanoseconds after that.
import type { HrTime } from '@opentelemetry/api';

export class MonotonicClock {
  private offsetSec = 0;
  private offsetNs = 0;
  private measuredAt = 0;
  private calls = 0;

  constructor(private readonly refreshMs = 60_000) {
    this.measure();
  }

  private measure(): void {
    // the wall clock as OTel JS reads it (timeOrigin + now), sampled next to hrtime
    const [monoSec, monoNs] = process.hrtime();
    const wallMs = performance.timeOrigin + performance.now();
    const wallSec = Math.floor(wallMs / 1000);
    const wallNs = Math.round((wallMs - wallSec * 1000) * 1e6);
    let sec = wallSec - monoSec;
    let ns = wallNs - monoNs;
    if (ns < 0) {
      ns += 1e9;
      sec -= 1;
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
