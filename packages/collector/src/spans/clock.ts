// The kernel stamps records with bpf_ktime_get_ns() (CLOCK_MONOTONIC); spans
// need wall-clock time. Node's process.hrtime reads the same monotonic clock,
// so one offset converts; it is re-measured now and then to follow NTP slew.
export class MonotonicClock {
  private offsetNs = 0n;
  private measuredAt = 0;

  constructor(private readonly refreshMs = 60_000) {
    this.measure();
  }

  private measure(): void {
    // the wall clock as OTel JS reads it (timeOrigin + now), sampled next to hrtime
    const mono = process.hrtime.bigint();
    const wallNs = BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
    this.offsetNs = wallNs - mono;
    this.measuredAt = Date.now();
  }

  toEpochNs(monoNs: number): bigint {
    if (Date.now() - this.measuredAt > this.refreshMs) this.measure();
    return BigInt(Math.round(monoNs)) + this.offsetNs;
  }
}
