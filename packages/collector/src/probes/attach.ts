// Attaches a backend's probes (pid-filtered: the breakpoints are written
// into that process only) and detaches them as a whole.
import type { BpfLink, BpfObject } from '@pgferret/bpf-loader';
import type { Probe } from './tables';

export interface ArmedBackend {
  pid: number;
  /** CLOCK_MONOTONIC ns when the probes were in place (the kernel's timestamps use the same clock) */
  sinceNs: number;
  detach(): void;
}

/** Attaches every probe to `pid`, whose executable is `exePath`; all or nothing. */
export function armBackend(obj: BpfObject, pid: number, exePath: string, probes: Probe[]): ArmedBackend {
  const links: BpfLink[] = [];
  const detach = () => {
    for (const l of links) {
      try {
        l.detach();
      } catch {
        /* already gone with the process */
      }
    }
    links.length = 0;
  };
  try {
    for (const p of probes) {
      if (p.type === 'usdt') {
        links.push(obj.attachUsdt({ program: p.program, binaryPath: exePath, provider: p.provider, name: p.name, pid, cookie: BigInt(p.cookie) }));
      } else {
        links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, symbol: p.symbols[0], pid, retprobe: p.retprobe }));
      }
    }
  } catch (e) {
    detach();
    throw e;
  }
  return { pid, sinceNs: Number(process.hrtime.bigint()), detach };
}
