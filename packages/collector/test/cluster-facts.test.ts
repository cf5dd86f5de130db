// What the collector lets the kernel read inside one cluster's statements:
// each feature on only when the binary's symbols and the major's layouts
// check out, otherwise off with the reason (never read through a layout
// that was not verified).
import { readElf } from '../src/discover/elf';
import { CLUSTER } from '../src/events/layout';
import { planInside } from '../src/inside/cluster-facts';
import { chooseProbeSet, USDT_SET } from '../src/probes/tables';

const DEBIAN = '/usr/lib/postgresql/15/bin/postgres';

describe('planInside', () => {
  const elf = readElf(DEBIAN);
  const set = chooseProbeSet(elf)!;

  it('is all off below --detail full, with that as the reason, but for what the gate reads at the socket', () => {
    const p = planInside({ pid: process.pid, major: 15, exePath: DEBIAN }, elf, set, 'phases');
    expect(p.off).toEqual({ waits: '--detail phases', locks: '--detail phases', buffers: '--detail phases', nested: '--detail phases', query_id: null });
    expect(p.probes).toEqual([]);
    const inside = p.value.subarray(0, CLUSTER.query_id_off);
    expect(inside.every((b) => b === 0)).toBe(true);
    expect(p.value.readUInt32LE(CLUSTER.query_id_off)).toBe(424);
    expect(p.value.readBigUInt64LE(CLUSTER.be_entry)).not.toBe(0n);
    expect(p.value.readBigUInt64LE(CLUSTER.scs)).not.toBe(0n);
  });

  it('the query identifier: none before 14, none without a verified layout', () => {
    expect(planInside({ pid: process.pid, major: 13, exePath: DEBIAN }, elf, set, 'full').off.query_id).toBe('PostgreSQL 13 has no query identifier (14+)');
    expect(planInside({ pid: process.pid, major: 19, exePath: DEBIAN }, elf, set, 'full').off.query_id).toBe("PgBackendStatus's layout of PostgreSQL 19 is not verified");
    const p = planInside({ pid: process.pid, major: 13, exePath: DEBIAN }, elf, set, 'full');
    expect(p.value.readUInt32LE(CLUSTER.query_id_off)).toBe(0);
    expect(p.value.readBigUInt64LE(CLUSTER.be_entry)).toBe(0n);
  });

  it('an unknown major switches everything off', () => {
    const p = planInside({ pid: process.pid, major: null, exePath: DEBIAN }, elf, set, 'full');
    expect(Object.values(p.off).every((why) => why && /major version is unknown/.test(why))).toBe(true);
  });

  it('a layout that does not match the binary: buffers off, saying which sizes disagree', () => {
    // Debian's 15 binary claimed to be 16: BufferUsage is 144 bytes there, 112 in 16
    const p = planInside({ pid: process.pid, major: 16, exePath: DEBIAN }, elf, set, 'full');
    expect(p.off.buffers).toBe("pgBufferUsage/pgWalUsage are 144/24 bytes, PostgreSQL 16's layout says 112/24: not read");
  });

  it('the lock probes of the build are armed; addresses need the postmaster still running', () => {
    // a postmaster that exited before its addresses were read: every address is refused, nothing is written
    const gone = 0x3ffffff0;
    const p = planInside({ pid: gone, major: 15, exePath: DEBIAN }, elf, USDT_SET, 'full');
    expect(set).toBe(USDT_SET);
    expect(p.off.locks).toBeNull();
    expect(p.probes.map((x) => (x.type === 'uprobe' ? [x.symbols[0], x.program] : null))).toEqual([['ProcSleep', 'uprobe_lock_wait'], ['ProcSleep', 'uretprobe_lock_wait']]);
    expect(p.off.waits).toBe(`${DEBIAN} is not mapped in process ${gone}`);
    expect(p.off.buffers).toBe(`${DEBIAN} is not mapped in process ${gone}`);
    expect(p.off.nested).toBe(`${DEBIAN} is not mapped in process ${gone}`);
    expect(p.off.query_id).toBe(`${DEBIAN} is not mapped in process ${gone}`);
    expect(p.value.every((b) => b === 0)).toBe(true);
  });

  it('a binary that is not PostgreSQL has nothing to read', () => {
    const node = readElf(process.execPath);
    const p = planInside({ pid: process.pid, major: 15, exePath: process.execPath }, node, USDT_SET, 'full');
    expect(p.off.waits).toMatch(/has no usable my_wait_event_info/);
    expect(p.off.locks).toMatch(/lacks the lock wait probe points \(ProcSleep\)/);
    expect(p.off.buffers).toMatch(/does not export pgBufferUsage and pgWalUsage/);
    expect(p.off.nested).toMatch(/does not export the SPI entry points/);
    expect(p.off.query_id).toMatch(/does not export MyBEEntry/);
  });
});
