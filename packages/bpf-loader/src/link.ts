import { native, type ObjectHandle } from './native';

/** One attachment. Detaching is idempotent; closing the object detaches all. */
export interface BpfLink {
  /** Detaches now: the probe is gone when this returns (a uprobe's takes the kernel ~0.1 s). */
  detach(): void;
  /**
   * Detaches in the background: returns at once, the loader's detacher thread
   * destroys the link (one at a time); closing the object waits for those.
   * For many uprobes at once (a process that exited) without blocking the caller.
   */
  release(): void;
  /**
   * CLOCK_MONOTONIC ns (process.hrtime.bigint()'s clock) when the probe was
   * removed: detach() returned, or the detacher destroyed it after release().
   * null while it is attached or waiting for the detacher; 0n when the object
   * was closed first.
   */
  readonly goneAtNs: bigint | null;
  readonly attached: boolean;
  /** e.g. "uprobe /usr/lib/postgresql/15/bin/postgres:exec_simple_query pid=123" */
  readonly description: string;
}

export class Link implements BpfLink {
  protected detached = false;

  constructor(
    protected readonly handle: ObjectHandle,
    protected readonly id: number,
    readonly description: string,
    protected readonly objectClosed: () => boolean,
  ) {}

  get attached(): boolean {
    return !this.detached && !this.objectClosed();
  }

  get goneAtNs(): bigint | null {
    if (this.objectClosed()) return 0n;
    if (!this.detached) return null;
    const ns = native().linkGoneNs(this.handle, this.id);
    return ns === 0n ? null : ns;
  }

  detach(): void {
    if (this.detached) return;
    this.detached = true;
    if (!this.objectClosed()) native().detach(this.handle, this.id);
  }

  release(): void {
    if (this.detached) return;
    this.detached = true;
    if (!this.objectClosed()) native().release(this.handle, this.id);
  }
}

/** A perf_event program's link: its event can be switched off and on without detaching. */
export interface PerfEventLink extends BpfLink {
  /** Starts or stops the event (PERF_EVENT_IOC_ENABLE/DISABLE); false when the link is gone. */
  setEnabled(on: boolean): boolean;
  /** Changes its sampling frequency (PERF_EVENT_IOC_PERIOD), from its next tick on; false when the link is gone. */
  setFrequency(hz: number): boolean;
}

export class PerfLink extends Link implements PerfEventLink {
  setEnabled(on: boolean): boolean {
    if (this.detached || this.objectClosed()) return false;
    return native().perfEventEnable(this.handle, this.id, on);
  }

  setFrequency(hz: number): boolean {
    if (!Number.isInteger(hz) || hz <= 0) throw new Error(`hz must be a positive integer, got ${hz}`);
    if (this.detached || this.objectClosed()) return false;
    return native().perfEventFrequency(this.handle, this.id, hz);
  }
}
