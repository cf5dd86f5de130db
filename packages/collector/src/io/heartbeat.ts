// The collector's periodic work (the budget's tick, the export queue's
// flush, the rescan) on one clock. On the VMs this project measures on, a
// wake-up costs an idle Node process ~180 µs of CPU by itself (an empty
// 100 ms setInterval at nice 19; a C nanosleep loop ~60), and each task with
// a timer of its own was a wake-up of its own. Driven (drive()), the tasks
// have no timers: they run at the driver's ticks — the ring buffer's drain
// timer, which wakes the collector anyway — each at the first tick from 3/4
// of its period on, and the driver is asked to tick at least as often as
// the shortest period. Not driven, each task has an interval of its own.
// (Postponing a Node timer does not move the wake-up it was due for: the
// process still wakes at the old time. Hence no fallback timer re-armed at
// every run.)

/** One periodic task of a Heartbeat. */
export class Beat {
  private interval: NodeJS.Timeout | null = null;
  private lastAt = Date.now();
  private stopped = false;

  constructor(
    private readonly heartbeat: Heartbeat,
    private readonly task: () => void,
    private periodMs: number,
    private readonly keepAlive: boolean,
  ) {}

  get period(): number {
    return this.periodMs;
  }

  /** A new period (a shorter one comes at the driver's next tick if already due). */
  setPeriod(ms: number): void {
    if (ms === this.periodMs || this.stopped) return;
    this.periodMs = ms;
    if (this.heartbeat.driven) this.heartbeat.periodsChanged();
    else this.own(true);
  }

  /** A tick of the driver: runs the task if 3/4 of its period have passed. */
  tick(now: number): void {
    if (!this.stopped && now - this.lastAt >= this.periodMs - this.periodMs / 4) this.run(now);
  }

  stop(): void {
    this.stopped = true;
    this.own(false);
    this.heartbeat.remove(this);
  }

  /** Its own interval on (not driven) or off (driven). */
  own(on: boolean): void {
    if (this.interval) clearInterval(this.interval);
    this.interval = null;
    if (!on || this.stopped) return;
    this.interval = setInterval(() => this.run(Date.now()), this.periodMs);
    if (!this.keepAlive) this.interval.unref();
  }

  private run(now: number): void {
    this.lastAt = now;
    this.task();
  }
}

/** Periodic tasks on one clock: a driver's ticks, or each its own interval. */
export class Heartbeat {
  private readonly beats = new Set<Beat>();
  /** told the shortest period whenever it changes, while driven */
  private driver: ((shortestMs: number) => void) | null = null;

  /**
   * `task` about every `periodMs`. `keepAlive: false`: its own interval lets
   * the process exit.
   */
  every(periodMs: number, task: () => void, o: { keepAlive?: boolean } = {}): Beat {
    const beat = new Beat(this, task, periodMs, o.keepAlive ?? true);
    this.beats.add(beat);
    if (this.driver) this.periodsChanged();
    else beat.own(true);
    return beat;
  }

  /**
   * From now on the tasks run at tick(): `driver` is told the shortest period
   * (now and whenever it changes), which its ticks must not be further apart than.
   */
  drive(driver: (shortestMs: number) => void): void {
    this.driver = driver;
    for (const b of this.beats) b.own(false);
    this.periodsChanged();
  }

  /** Back to an interval per task. */
  undrive(): void {
    this.driver = null;
    for (const b of this.beats) b.own(true);
  }

  /** The driver's tick: the tasks that are due run (nothing while not driven: each keeps time itself). */
  tick(now = Date.now()): void {
    if (this.driver) for (const b of this.beats) b.tick(now);
  }

  /** The shortest period of the tasks (Infinity without any). */
  private shortest(): number {
    let ms = Infinity;
    for (const b of this.beats) ms = Math.min(ms, b.period);
    return ms;
  }

  get driven(): boolean {
    return this.driver !== null;
  }

  /** Tells the driver the shortest period. */
  periodsChanged(): void {
    this.driver?.(this.shortest());
  }

  remove(beat: Beat): void {
    if (this.beats.delete(beat)) this.periodsChanged();
  }
}
