// Attaches a backend's probes (pid-filtered: the breakpoints are written
// into that process only) and detaches them as a whole.
import type { BpfLink, BpfObject, PerfEventLink } from '@pgferret/bpf-loader';
import { functionOffset, usdtOffsets, type ElfInfo } from '../discover/elf';
import type { Probe } from './tables';

export interface ArmedBackend {
  pid: number;
  /** CLOCK_MONOTONIC ns when the probes were in place (the kernel's timestamps use the same clock) */
  sinceNs: number;
  /** Adds more probes (all or nothing for these). */
  add(probes: Probe[]): void;
  /** Detaches in the background (each uprobe takes the kernel ~0.1 s to remove): returns at once. */
  detach(): void;
  /** Switches its CPU clock (if it has one) on or off; only a change reaches the kernel. */
  setClock(on: boolean): void;
}

/**
 * Attaches every probe to `pid`, whose executable is `exePath` (read as
 * `elf`); all or nothing. Uprobes go to file offsets from `elf`: no symbol or
 * note lookup in the executable at each attach.
 */
export function armBackend(obj: BpfObject, pid: number, exePath: string, probes: Probe[], elf: ElfInfo): ArmedBackend {
  const links: BpfLink[] = [];
  const clocks: PerfEventLink[] = [];
  let clockOn = false;
  const release = (from: number) => {
    for (const l of links.splice(from)) {
      try {
        l.release();
      } catch {
        /* already gone with the process */
      }
    }
  };
  const add = (more: Probe[]) => {
    const from = links.length;
    try {
      for (const p of more) {
        if (p.type === 'cpu-clock') {
          clockOn = p.on(pid);
          const clock = obj.attachPerfEvent({ program: p.program, pid, hz: p.hz, enabled: clockOn });
          links.push(clock);
          clocks.push(clock);
        } else if (p.type === 'usdt') {
          const sites = usdtOffsets(elf, p.provider, p.name);
          if (sites.length === 0) throw new Error(`${exePath} has no site of the USDT probe ${p.provider}:${p.name}`);
          for (const offset of sites) links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, offset, pid }));
        } else {
          const offset = functionOffset(elf, p.symbols[0]);
          const where = offset === null ? { symbol: p.symbols[0] } : { offset };
          links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, ...where, pid, retprobe: p.retprobe }));
        }
      }
    } catch (e) {
      release(from);
      throw e;
    }
  };
  add(probes);
  const setClock = (on: boolean) => {
    if (on === clockOn || clocks.length === 0) return;
    clockOn = on;
    for (const c of clocks) {
      try {
        c.setEnabled(on);
      } catch {
        /* the backend exited: its clock goes with it */
      }
    }
  };
  return { pid, sinceNs: Number(process.hrtime.bigint()), add, detach: () => release(0), setClock };
}
