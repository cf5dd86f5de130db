// Says, once per change, that the collector has nothing to trace: no
// PostgreSQL running, or none that the --pid/--data-dir/--port filter selects.
// Without it a collector whose filter matches nothing only prints "running".
import { describeFilter, type ClusterFilter } from './filter';
import type { Postmaster } from './postmasters';

function describePostmaster(pm: Postmaster): string {
  return `pid ${pm.pid} port ${pm.port ?? '?'} ${pm.dataDir}`;
}

export class MatchReport {
  private last: string | null = null;

  constructor(private readonly filter: ClusterFilter | undefined, private readonly log: (m: string) => void) {}

  /** After each scan: every running postmaster, and how many the filter selected. */
  update(all: Postmaster[], selected: number): void {
    let state: string;
    if (selected > 0) state = 'tracing';
    else if (all.length === 0) state = 'no PostgreSQL is running on this machine (or this collector cannot see its processes): waiting for one to start';
    else {
      const shown = all.slice(0, 5).map(describePostmaster).join('; ');
      state = `no running PostgreSQL cluster matches ${describeFilter(this.filter)} (running: ${shown}${all.length > 5 ? '; …' : ''}): ` +
        'waiting for one that does; change the filter to trace these';
    }
    if (state !== this.last && state !== 'tracing') this.log(state);
    this.last = state;
  }
}
