// The export's state, logged once per change: a dead OTLP endpoint would
// otherwise only show in `pgferret-collector status` (as drops).
export class ExportHealth {
  private failingSince: number | null = null;
  private droppedBefore = 0;

  constructor(private readonly log: (m: string) => void, private readonly now: () => number = Date.now) {}

  /** After a failed export; `dropped`: the queue's drop count so far. */
  failed(error: string, dropped: number): void {
    if (this.failingSince !== null) return;
    this.failingSince = this.now();
    this.droppedBefore = dropped;
    this.log(`export failing since ${new Date(this.failingSince).toISOString()}: ${error}. ` +
      'Spans that cannot be exported are dropped and counted (`npx pgferret-collector status`); PostgreSQL is not affected');
  }

  /** After a successful export. */
  succeeded(dropped: number): void {
    if (this.failingSince === null) return;
    const seconds = ((this.now() - this.failingSince) / 1000).toFixed(1);
    this.log(`export recovered after ${seconds} s of failures; ${dropped - this.droppedBefore} spans were dropped meanwhile`);
    this.failingSince = null;
  }
}
