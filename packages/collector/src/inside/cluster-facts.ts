// What the kernel may read inside the statements of one cluster: addresses
// of exported globals in its processes and struct offsets of its major
// version, each checked against the binary (the symbol exists, its size is
// the one the layout table expects). A check that fails switches that
// feature off for the cluster, with the reason in the log and in status —
// never numbers read through a layout that was not verified.
import { symbolAddress } from '../discover/addresses';
import type { ElfInfo } from '../discover/elf';
import { CLUSTER } from '../events/layout';
import { procWaitEventOffset } from '../pg/proc-layout';
import { spiLayout } from '../pg/spi-layout';
import { bufferUsageLayout, walUsageLayout } from '../pg/usage-layout';
import { hasProbe, nestedProbes, type Detail, type Probe, type ProbeSet } from '../probes/tables';

export type Feature = 'waits' | 'locks' | 'buffers' | 'nested';
export const FEATURES: Feature[] = ['waits', 'locks', 'buffers', 'nested'];

export interface InsidePlan {
  /** the `postmasters` map value (struct pf_cluster) */
  value: Buffer;
  /** per feature: null when on, else why it is off */
  off: Record<Feature, string | null>;
  /** probes armed backends get besides the phase probes */
  probes: Probe[];
}

interface Target {
  pid: number;
  major: number | null;
  exePath: string;
}

function object(elf: ElfInfo, name: string): { value: bigint; size: number } | null {
  return elf.objects.get(name) ?? null;
}

const allOff = (why: string): Record<Feature, string | null> => ({ waits: why, locks: why, buffers: why, nested: why });

/** Kernel-side features whose programs the kernel refused: their reasons (see kernel/load). */
export type Refused = Partial<Record<'phases' | 'waits' | 'locks' | 'nested', string | null>>;

export function planInside(t: Target, elf: ElfInfo, set: ProbeSet, detail: Detail, refused: Refused = {}): InsidePlan {
  const value = Buffer.alloc(CLUSTER.size);
  if (refused.phases) return { value, off: allOff(`no phase timing: ${refused.phases}`), probes: [] };
  if (detail !== 'full') return { value, off: allOff(`--detail ${detail}`), probes: [] };
  if (t.major === null) return { value, off: allOff('the PostgreSQL major version is unknown (no PG_VERSION in the data directory)'), probes: [] };
  const major = t.major;
  const off: Record<Feature, string | null> = { waits: null, locks: null, buffers: null, nested: null };
  const probes: Probe[] = [];
  // null when the executable is not found in the postmaster's memory map (it exited meanwhile)
  const at = (v: bigint) => symbolAddress(t.pid, t.exePath, v);
  const unmapped = `${t.exePath} is not mapped in process ${t.pid}`;

  const mwei = object(elf, 'my_wait_event_info');
  const myProc = object(elf, 'MyProc');
  const procOffset = procWaitEventOffset(major);
  const pointer = mwei && mwei.size === 8 ? { sym: mwei, offset: 0 } : !mwei && myProc && myProc.size === 8 && procOffset !== null ? { sym: myProc, offset: procOffset } : null;
  const pointerAt = pointer && at(pointer.sym.value);
  if (refused.waits) off.waits = refused.waits;
  else if (!pointer) off.waits = `${t.exePath} has no usable my_wait_event_info${procOffset === null ? ` and PGPROC's layout of PostgreSQL ${major} is not verified` : ''}`;
  else if (pointerAt === null) off.waits = unmapped;
  else {
    value.writeBigUInt64LE(pointerAt, CLUSTER.wait_event_ptr);
    value.writeUInt32LE(pointer.offset, CLUSTER.wait_event_off);
  }

  if (refused.locks) off.locks = refused.locks;
  else if (set.locks.every((p) => hasProbe(elf, p))) probes.push(...set.locks);
  else off.locks = `${t.exePath} lacks the lock wait probe points (${[...new Set(set.locks.map((p) => (p.type === 'usdt' ? p.name : p.type === 'uprobe' ? p.symbols[0] : p.type)))].join(', ')})`;

  const bu = object(elf, 'pgBufferUsage');
  const wu = object(elf, 'pgWalUsage');
  const bSize = bufferUsageLayout(major)?.size ?? null;
  const wSize = walUsageLayout(major)?.size ?? null;
  if (!bu || !wu) off.buffers = `${t.exePath} does not export pgBufferUsage and pgWalUsage`;
  else if (bSize === null || wSize === null) off.buffers = `no BufferUsage/WalUsage layout for PostgreSQL ${major}`;
  else if (bu.size !== bSize || wu.size !== wSize) {
    off.buffers = `pgBufferUsage/pgWalUsage are ${bu.size}/${wu.size} bytes, PostgreSQL ${major}'s layout says ${bSize}/${wSize}: not read`;
  } else {
    const b = at(bu.value);
    const w = at(wu.value);
    if (b === null || w === null) off.buffers = unmapped;
    else {
      value.writeBigUInt64LE(b, CLUSTER.buffer_usage);
      value.writeBigUInt64LE(w, CLUSTER.wal_usage);
      value.writeUInt32LE(bSize, CLUSTER.buffer_size);
      value.writeUInt32LE(wSize, CLUSTER.wal_size);
    }
  }

  const spi = nestedProbes(elf.functions);
  const processed = object(elf, 'SPI_processed');
  const processedAt = processed && at(processed.value);
  if (refused.nested) off.nested = refused.nested;
  else if (spi.length === 0 || !processed) off.nested = `${t.exePath} does not export the SPI entry points`;
  else if (processedAt === null) off.nested = unmapped;
  else {
    probes.push(...spi);
    value.writeBigUInt64LE(processedAt, CLUSTER.spi_processed);
    const l = spiLayout(major);
    // without a verified layout the nested statements still get spans, without their text
    if (l) {
      value.writeUInt32LE(l.spiPlanMagic, CLUSTER.plan_magic);
      value.writeUInt32LE(l.plancacheList, CLUSTER.plan_list);
      value.writeUInt32LE(l.listElements, CLUSTER.list_elements);
      value.writeUInt32LE(l.cachedPlanSourceMagic, CLUSTER.source_magic);
      value.writeUInt32LE(l.queryString, CLUSTER.source_text);
    }
  }
  return { value, off, probes };
}
