// What the kernel may read inside the statements of one cluster: addresses
// of exported globals in its processes and struct offsets of its major
// version, each checked against the binary (the symbol exists, its size is
// the one the layout table expects). A check that fails switches that
// feature off for the cluster, with the reason in the log and in status —
// never numbers read through a layout that was not verified. The query
// identifier and standard_conforming_strings are read at the socket, for
// every --detail (one read each per sampled statement).
import * as fs from 'node:fs';
import { symbolAddress } from '../discover/addresses';
import { functionOffset, type ElfInfo } from '../discover/elf';
import { CLUSTER } from '../events/layout';
import { queryIdOffset, queryIdOffsetInCode } from '../pg/backend-status';
import { procWaitEventOffset } from '../pg/proc-layout';
import { spiLayout } from '../pg/spi-layout';
import { bufferUsageLayout, walUsageLayout } from '../pg/usage-layout';
import { hasProbe, nestedProbes, type Detail, type Probe, type ProbeSet } from '../probes/tables';

export type Feature = 'waits' | 'locks' | 'buffers' | 'nested' | 'query_id';
export const FEATURES: Feature[] = ['waits', 'locks', 'buffers', 'nested', 'query_id'];

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

const allOff = (why: string, queryId: string | null): Record<Feature, string | null> => ({ waits: why, locks: why, buffers: why, nested: why, query_id: queryId });

/** The displacement pgstat_get_my_query_id loads st_query_id with, read from the executable's code. */
function queryIdOffsetOf(exePath: string, elf: ElfInfo, beEntry: bigint): number | null {
  const at = elf.functionValues.get('pgstat_get_my_query_id');
  const off = functionOffset(elf, 'pgstat_get_my_query_id');
  if (at === undefined || off === null) return null;
  const code = Buffer.alloc(48);
  const fd = fs.openSync(exePath, 'r');
  try {
    fs.readSync(fd, code, 0, code.length, off);
  } finally {
    fs.closeSync(fd);
  }
  return queryIdOffsetInCode(code, at, beEntry);
}

/**
 * What the gate reads in every backend at the socket: the session's
 * standard_conforming_strings (for the lexer's confirmation) and its
 * published query identifier. Written into `value`; returns why the query
 * identifier is not read, or null.
 */
function socketReads(t: Target, elf: ElfInfo, value: Buffer, at: (v: bigint) => bigint | null, unmapped: string): string | null {
  const scs = object(elf, 'standard_conforming_strings');
  const scsAt = scs && scs.size === 1 ? at(scs.value) : null;
  // unknown (both readings tried) when it cannot be read
  if (scsAt !== null) value.writeBigUInt64LE(scsAt, CLUSTER.scs);

  if (t.major === null) return 'the PostgreSQL major version is unknown (no PG_VERSION in the data directory)';
  if (t.major < 14) return `PostgreSQL ${t.major} has no query identifier (14+)`;
  const table = queryIdOffset(t.major);
  if (table === null) return `PgBackendStatus's layout of PostgreSQL ${t.major} is not verified`;
  const entry = object(elf, 'MyBEEntry');
  if (!entry || entry.size !== 8) return `${t.exePath} does not export MyBEEntry`;
  let code: number | null;
  try {
    code = queryIdOffsetOf(t.exePath, elf, entry.value);
  } catch (e) {
    return `${t.exePath} could not be read: ${(e as Error).message}`;
  }
  if (code === null) return `pgstat_get_my_query_id in ${t.exePath} is not the load pgferret knows: st_query_id's offset not verified`;
  if (code !== table) return `st_query_id is at ${code} in ${t.exePath}, PostgreSQL ${t.major}'s layout says ${table}: not read`;
  const entryAt = at(entry.value);
  if (entryAt === null) return unmapped;
  value.writeBigUInt64LE(entryAt, CLUSTER.be_entry);
  value.writeUInt32LE(table, CLUSTER.query_id_off);
  return null;
}

/** Kernel-side features whose programs the kernel refused: their reasons (see kernel/load). */
export type Refused = Partial<Record<'phases' | 'waits' | 'locks' | 'nested', string | null>>;

export function planInside(t: Target, elf: ElfInfo, set: ProbeSet, detail: Detail, refused: Refused = {}): InsidePlan {
  const value = Buffer.alloc(CLUSTER.size);
  // null when the executable is not found in the postmaster's memory map (it exited meanwhile)
  const at = (v: bigint) => symbolAddress(t.pid, t.exePath, v);
  const unmapped = `${t.exePath} is not mapped in process ${t.pid}`;
  const queryId = socketReads(t, elf, value, at, unmapped);
  if (refused.phases) return { value, off: allOff(`no phase timing: ${refused.phases}`, queryId), probes: [] };
  if (detail !== 'full') return { value, off: allOff(`--detail ${detail}`, queryId), probes: [] };
  if (t.major === null) return { value, off: allOff('the PostgreSQL major version is unknown (no PG_VERSION in the data directory)', queryId), probes: [] };
  const major = t.major;
  const off: Record<Feature, string | null> = { waits: null, locks: null, buffers: null, nested: null, query_id: queryId };
  const probes: Probe[] = [];

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
