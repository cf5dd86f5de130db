// Attaches a backend's probes (pid-filtered: the breakpoints are written
// into that process only) and detaches them as a whole; or a binary's
// (every process running it, for probes only some of them ever execute).
import type { BpfLink, BpfObject, PerfEventLink } from '@pgferret/bpf-loader';
import { functionOffset, usdtOffsets, type ElfInfo } from '../discover/elf';
import type { Probe } from './tables';

export interface ArmedBackend {
  pid: number;
  /** how many links its first probes are (a USDT probe is one per call site; with uprobe_multi links, one per program) */
  firstLinks: number;
  /** CLOCK_MONOTONIC ns when the probes were in place (the kernel's timestamps use the same clock) */
  sinceNs: number;
  /** Adds more probes (all or nothing for these). */
  add(probes: Probe[]): void;
  /** Detaches in the background (the kernel takes ~35–90 ms a link to remove it: grace periods), the first probes first: returns at once. */
  detach(): void;
  /** Detaches only the first probes (hit on every statement): released before other backends' later probes, they are removed before them. */
  detachFirst(): void;
  /** Once detached: CLOCK_MONOTONIC ns when the last of its first probes (hit on every statement) was removed; null while any is still in place. */
  removedAtNs(): number | null;
  /** Switches its CPU clock (if it has one) on or off; only a change reaches the kernel (returns whether there was one). */
  setClock(on: boolean): boolean;
  /** Sets its CPU clock's rate (if it has one). */
  setClockHz(hz: number): void;
}

/** Detaches links in the background, on the loader's detacher threads (the kernel takes ~35–90 ms a link to remove it). */
function release(links: BpfLink[]): void {
  for (const l of links) {
    try {
      l.release();
    } catch {
      /* already gone with the process */
    }
  }
}

/**
 * Attaches `probes` to the executable `exePath` (read as `elf`), in `pid` only or, without one, in every process; all or nothing.
 * A program loaded for uprobe_multi links gets one link for all its sites (a USDT probe's, and every probe of that program and
 * direction); else one perf-event uprobe per site.
 */
function attachAll(obj: BpfObject, exePath: string, probes: Probe[], elf: ElfInfo, pid?: number): BpfLink[] {
  const links: BpfLink[] = [];
  const multi = new Map<string, { program: string; retprobe: boolean; offsets: number[] }>();
  try {
    for (const p of probes) {
      if (p.type === 'cpu-clock') {
        if (pid === undefined) throw new Error('a CPU clock is attached to one process: give its pid');
        links.push(obj.attachPerfEvent({ program: p.program, pid, hz: p.hz, enabled: p.on(pid) }));
        continue;
      }
      const retprobe = p.type === 'uprobe' && !!p.retprobe;
      let offsets: number[];
      if (p.type === 'usdt') {
        offsets = usdtOffsets(elf, p.provider, p.name, p.within);
        if (offsets.length === 0) throw new Error(`${exePath} has no site of the USDT probe ${p.provider}:${p.name}${p.within ? ` in ${p.within}` : ''}`);
      } else {
        const offset = functionOffset(elf, p.symbols[0]);
        if (offset === null) {
          if (obj.usesUprobeMulti(p.program)) throw new Error(`${exePath} has no function ${p.symbols[0]} in its symbol tables`);
          links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, symbol: p.symbols[0], pid, retprobe }));
          continue;
        }
        offsets = [offset];
      }
      if (obj.usesUprobeMulti(p.program)) {
        const key = `${p.program}${retprobe ? ':ret' : ''}`;
        const g = multi.get(key) ?? { program: p.program, retprobe, offsets: [] };
        g.offsets.push(...offsets);
        multi.set(key, g);
      } else {
        for (const offset of offsets) links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, offset, pid, retprobe }));
      }
    }
    for (const g of multi.values()) links.push(obj.attachUprobeMulti({ ...g, binaryPath: exePath, pid }));
  } catch (e) {
    release(links);
    throw e;
  }
  return links;
}

/**
 * Attaches every probe to `pid`, whose executable is `exePath` (read as
 * `elf`); all or nothing. Uprobes go to file offsets from `elf`: no symbol or
 * note lookup in the executable at each attach.
 */
export function armBackend(obj: BpfObject, pid: number, exePath: string, probes: Probe[], elf: ElfInfo): ArmedBackend {
  const links = attachAll(obj, exePath, probes, elf, pid);
  const first = links.length;
  const hot = links.slice();
  // the loader's detacher removes links in the order released: the phase probes (hit on every statement) go first
  let firstLeft = first;
  const detach = (n: number) => {
    release(links.splice(0, n));
    firstLeft = Math.max(0, firstLeft - n);
  };
  const clocks = (): PerfEventLink[] => links.filter((l): l is PerfEventLink => 'setEnabled' in l);
  // a clock is attached on or off as its probe says (on: the backend is inside a sampled cycle)
  let clockOn = probes.some((p) => p.type === 'cpu-clock' && p.on(pid));
  return {
    pid,
    firstLinks: first,
    sinceNs: Number(process.hrtime.bigint()),
    add: (more) => { links.push(...attachAll(obj, exePath, more, elf, pid)); },
    detach: () => detach(links.length),
    detachFirst: () => detach(firstLeft),
    removedAtNs: () => {
      let last = 0;
      for (const l of hot) {
        const at = l.goneAtNs;
        if (at === null) return null;
        last = Math.max(last, Number(at));
      }
      return last;
    },
    setClock: (on) => {
      if (on === clockOn) return false;
      clockOn = on;
      for (const c of clocks()) {
        try {
          c.setEnabled(on);
        } catch {
          /* the backend exited: its clock goes with it */
        }
      }
      return true;
    },
    setClockHz: (hz) => {
      for (const c of clocks()) {
        try {
          c.setFrequency(hz);
        } catch {
          /* the backend exited: its clock goes with it */
        }
      }
    },
  };
}

/**
 * Attaches every probe to the executable `exePath` (read as `elf`) in every
 * process that runs it, now or later; all or nothing. Returns the detach.
 */
export function attachToBinary(obj: BpfObject, exePath: string, probes: Probe[], elf: ElfInfo): () => void {
  const links = attachAll(obj, exePath, probes, elf);
  return () => release(links.splice(0));
}
