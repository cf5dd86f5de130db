// Attaches a backend's probes (pid-filtered: the breakpoints are written
// into that process only) and detaches them as a whole.
import type { BpfLink, BpfObject } from '@pgferret/bpf-loader';
import type { Probe } from './tables';

export interface ArmedBackend {
  pid: number;
  /** CLOCK_MONOTONIC ns when the probes were in place (the kernel's timestamps use the same clock) */
  sinceNs: number;
  /** Detaches in the background (each uprobe takes the kernel ~0.1 s to remove): returns at once. */
  detach(): void;
}

/**
 * Attaches every probe to `pid`, whose executable is `exePath`; all or nothing.
 * `offsetOf` gives a function's file offset, so a uprobe needs no symbol
 * lookup in the executable at each attach (libbpf reads the ELF file per symbol).
 */
export function armBackend(obj: BpfObject, pid: number, exePath: string, probes: Probe[], offsetOf: (symbol: string) => number | null): ArmedBackend {
  const links: BpfLink[] = [];
  const detach = () => {
    for (const l of links) {
      try {
        l.release();
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
        const offset = offsetOf(p.symbols[0]);
        const where = offset === null ? { symbol: p.symbols[0] } : { offset };
        links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, ...where, pid, retprobe: p.retprobe }));
      }
    }
  } catch (e) {
    detach();
    throw e;
  }
  return { pid, sinceNs: Number(process.hrtime.bigint()), detach };
}
