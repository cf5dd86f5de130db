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
  readonly attached: boolean;
  /** e.g. "uprobe /usr/lib/postgresql/15/bin/postgres:exec_simple_query pid=123" */
  readonly description: string;
}

export class Link implements BpfLink {
  private detached = false;

  constructor(
    private readonly handle: ObjectHandle,
    private readonly id: number,
    readonly description: string,
    private readonly objectClosed: () => boolean,
  ) {}

  get attached(): boolean {
    return !this.detached && !this.objectClosed();
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
