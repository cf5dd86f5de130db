// Attaches a probe set to one postgres executable (through /proc/<pid>/exe)
// and keeps the links so the whole binary can be detached at once.
import type { BpfLink, BpfObject } from '@pgferret/bpf-loader';
import type { ElfInfo } from '../discover/elf';
import type { Detail, Probe, ProbeSet } from './tables';

export interface AttachedBinary {
  binaryId: string;
  exePath: string;
  set: ProbeSet;
  /** "usdt postgresql:statement__status", "uprobe PortalRun", … */
  attached: string[];
  /** probe points of the set this build does not have (their phases fall back to neighbours) */
  missing: string[];
  detach(): void;
}

function attachOne(obj: BpfObject, exePath: string, facts: ElfInfo, p: Probe, links: BpfLink[], attached: string[], missing: string[]): void {
  if (p.type === 'usdt') {
    const label = `usdt ${p.provider}:${p.name}`;
    if (!facts.usdt.has(`${p.provider}:${p.name}`)) {
      missing.push(label);
      return;
    }
    links.push(obj.attachUsdt({
      program: p.program, binaryPath: exePath, provider: p.provider, name: p.name,
      cookie: p.cookie === undefined ? undefined : BigInt(p.cookie),
    }));
    attached.push(label);
    return;
  }
  const present = p.symbols.filter((s) => facts.functions.has(s));
  if (present.length === 0) {
    missing.push(`uprobe ${p.symbols.join('|')}`);
    return;
  }
  for (const symbol of present) {
    links.push(obj.attachUprobe({ program: p.program, binaryPath: exePath, symbol }));
    attached.push(`uprobe ${symbol}`);
  }
}

export function attachBinary(obj: BpfObject, binaryId: string, exePath: string, facts: ElfInfo, set: ProbeSet, detail: Detail): AttachedBinary {
  const links: BpfLink[] = [];
  const attached: string[] = [];
  const missing: string[] = [];
  const detach = () => {
    for (const l of links) {
      try { l.detach(); } catch { /* already gone with the process */ }
    }
    links.length = 0;
  };
  try {
    for (const p of set.probes) if (detail === 'phases' || !p.phase) attachOne(obj, exePath, facts, p, links, attached, missing);
  } catch (e) {
    detach();
    throw e;
  }
  // Without the status probe nothing is ever traced: treat as a failure.
  if (!attached.some((a) => a.includes('statement__status') || a.includes('pgstat_report_activity'))) {
    detach();
    throw new Error(`${exePath}: neither the statement__status USDT probe nor pgstat_report_activity() is available; this build cannot be traced`);
  }
  return { binaryId, exePath, set, attached, missing, detach };
}
