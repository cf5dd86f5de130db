// The per-major tables of packages/collector/src/pg against real PostgreSQL:
// globals found through the ELF reader and /proc/PID/maps and read through
// /proc/PID/mem in a live backend, and the whole wait-event table against
// the binary's own pgstat_get_wait_event().
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { symbolAddress } from '../packages/collector/src/discover/addresses';
import { readElf, readLoadSegments, type ElfInfo } from '../packages/collector/src/discover/elf';
import { bufferUsageLayout, decodeBufferUsage, decodeWalUsage, usageDelta, walUsageLayout } from '../packages/collector/src/pg/usage-layout';
import { binaryWaitEventCounts, waitEventsMissingFromTable } from '../packages/collector/src/pg/wait-event-check';
import { waitEventLabel, waitEventName } from '../packages/collector/src/pg/wait-events';
import { binDirFor, startPostgres, type PgCluster, type PgFlavor } from './helpers/postgres';

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await check());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function readMem(pid: number, addr: bigint, length: number): Buffer {
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  try {
    const b = Buffer.alloc(length);
    expect(fs.readSync(fd, b, 0, length, addr)).toBe(length);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

describe.each(['debian', 'embedded'] as PgFlavor[])('per-major tables on %s PostgreSQL', (flavor) => {
  let pg: PgCluster;
  let major: number;
  let exe: string;
  let elf: ElfInfo;
  const clients: Client[] = [];

  const connect = async () => {
    const c = new Client({ connectionString: pg.connectionString });
    await c.connect();
    clients.push(c);
    const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    return { c, pid };
  };
  const global = (pid: number, name: string, length: number) => {
    const sym = elf.objects.get(name);
    if (!sym) throw new Error(`${name} is not in ${exe}`);
    const addr = symbolAddress(pid, exe, sym.value);
    if (addr === null) throw new Error(`${exe} is not mapped in ${pid}`);
    return readMem(pid, addr, length);
  };
  // *my_wait_event_info: a pointer to the backend's PGPROC.wait_event_info
  const waitEventInfo = (pid: number) => readMem(pid, global(pid, 'my_wait_event_info', 8).readBigUInt64LE(0), 4).readUInt32LE(0);

  beforeAll(async () => {
    pg = await startPostgres({ flavor });
    major = Number(pg.major);
    exe = `/proc/${pg.pid}/exe`;
    elf = readElf(exe);
  });
  afterAll(async () => {
    for (const c of clients) await c.end().catch(() => undefined);
    await pg?.stop();
  });

  it('finds the globals the collector reads, with the sizes of the tables', () => {
    expect(elf.objects.get('pgBufferUsage')?.size).toBe(bufferUsageLayout(major)!.size);
    expect(elf.objects.get('pgWalUsage')?.size).toBe(walUsageLayout(major)!.size);
    expect(elf.objects.get('my_wait_event_info')?.size).toBe(8);
    expect(elf.objects.get('SPI_processed')?.size).toBe(8);
    expect(elf.objects.get('MyProcPid')?.size).toBe(4);
    expect(elf.functions.has('SPI_execute')).toBe(true);
    expect(elf.objects.has('SPI_execute')).toBe(false);
    expect(elf.segments).toEqual(readLoadSegments(exe));
    expect(elf.segments[0]).toMatchObject({ offset: 0n, vaddr: 0n }); // PIE
  });

  it("reads a backend's MyProcPid at the address computed from /proc/PID/maps", async () => {
    const { pid } = await connect();
    expect(global(pid, 'MyProcPid', 4).readInt32LE(0)).toBe(pid);
    expect(symbolAddress(2 ** 22 + 1, exe, 0n)).toBeNull(); // no such process
  });

  it('decodes the wait event pg_stat_activity shows: idle, sleeping, waiting for a row lock', async () => {
    const { c: a, pid: aPid } = await connect();
    const { c: b, pid: bPid } = await connect();
    const { c: watch } = await connect();
    const shown = async (pid: number) => {
      const r = await watch.query('SELECT wait_event_type AS type, wait_event AS name FROM pg_stat_activity WHERE pid = $1', [pid]);
      return r.rows[0] as { type: string | null; name: string | null };
    };
    await a.query('CREATE TABLE IF NOT EXISTS inventory (id int PRIMARY KEY, n int)');
    await a.query('INSERT INTO inventory VALUES (1, 0) ON CONFLICT DO NOTHING');

    // the reply can arrive before the backend is back in its read
    await until('a idle', async () => (await shown(aPid)).name === 'ClientRead');
    expect(await shown(aPid)).toEqual({ type: 'Client', name: 'ClientRead' });
    expect(waitEventName(major, waitEventInfo(aPid))).toEqual({ type: 'Client', name: 'ClientRead' });

    const sleeping = a.query('SELECT pg_sleep(2)');
    await until('a in pg_sleep', async () => (await shown(aPid)).name === 'PgSleep');
    expect(waitEventName(major, waitEventInfo(aPid))).toEqual({ type: 'Timeout', name: 'PgSleep' });
    await sleeping;

    await a.query('BEGIN');
    await a.query('UPDATE inventory SET n = n + 1 WHERE id = 1');
    const blocked = b.query('UPDATE inventory SET n = n + 1 WHERE id = 1');
    await until('b waiting for a', async () => (await shown(bPid)).type === 'Lock');
    expect(await shown(bPid)).toEqual({ type: 'Lock', name: 'transactionid' });
    expect(waitEventName(major, waitEventInfo(bPid))).toEqual({ type: 'Lock', name: 'transactionid' });
    await a.query('COMMIT');
    await blocked;
  });

  it('reads pgBufferUsage and pgWalUsage before and after statements', async () => {
    const { c, pid } = await connect();
    await c.query('CREATE TABLE IF NOT EXISTS usage_probe (id serial, filler text)');
    const buffers = () => decodeBufferUsage(major, global(pid, 'pgBufferUsage', bufferUsageLayout(major)!.size))!;
    const wal = () => decodeWalUsage(major, global(pid, 'pgWalUsage', walUsageLayout(major)!.size))!;

    const b0 = buffers();
    await c.query('SELECT count(*) FROM pg_class');
    const read = usageDelta(b0, buffers());
    expect(read.sharedHit + read.sharedRead).toBeGreaterThan(0);
    expect(read.tempRead).toBe(0);
    // track_io_timing is off: times are present, and zero
    expect(read.sharedReadMs).toBe(0);
    expect(read.localReadMs).toBe(major >= 17 ? 0 : undefined);

    const w0 = wal();
    await c.query("INSERT INTO usage_probe (filler) SELECT repeat('x', 100) FROM generate_series(1, 50)");
    const wrote = usageDelta(w0, wal());
    expect(wrote.walRecords).toBeGreaterThanOrEqual(50);
    expect(wrote.walBytes).toBeGreaterThan(50 * 100);
    expect(wrote.walBuffersFull).toBe(major >= 18 ? 0 : undefined);
  });

  // pgstat_get_wait_event() run in this binary for every class and id: the
  // executable loaded into a small C program (a copy without the PIE flag,
  // which dlopen refuses); ids past the extension tranches, custom events and
  // injection points are left out (they look up shared memory).
  it("names every wait event as the binary's own pgstat_get_wait_event() does", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-waits-'));
    try {
      const lib = path.join(dir, 'postgres.so');
      fs.writeFileSync(lib, withoutPieFlag(fs.readFileSync(path.join(binDirFor(flavor), 'postgres'))));
      fs.writeFileSync(path.join(dir, 'probe.c'), PROBE_C);
      execFileSync('cc', ['-o', path.join(dir, 'probe'), path.join(dir, 'probe.c'), '-ldl']);
      const out = execFileSync(path.join(dir, 'probe'), [lib], {
        encoding: 'utf8',
        maxBuffer: 1 << 24,
        env: { ...process.env, LD_LIBRARY_PATH: path.join(binDirFor(flavor), '..', 'lib') },
      });
      const lines = out.trim().split('\n');
      expect(lines.length).toBeGreaterThan(3000);
      // Minor releases append ids to a class (15.20: IPC 51). The table may be of a newer minor than
      // this binary (ids past the binary's end), or older (ids past the table's end): both allowed,
      // at the end of a class only. A name that differs from the binary's is wrong, whatever the minor.
      const counts = binaryWaitEventCounts(lib, readElf(lib));
      const wrong: string[] = [];
      const binaryOnly: string[] = [];
      const tableOnly: string[] = [];
      for (const line of lines) {
        const [cls, id, type, name] = line.split('\t');
        const info = ((Number(cls) << 24) | Number(id)) >>> 0;
        const unknown = name === 'unknown wait event' || name === '???' || name === '(null)' || name.startsWith('<unassigned');
        const got = waitEventName(major, info);
        const end = counts.get(Number(cls));
        if (unknown ? got === null : got?.type === type && got?.name === name) continue;
        if (unknown && end !== undefined && Number(id) >= end) tableOnly.push(`${got!.type}:${got!.name} (#${id})`);
        else if (!unknown && got === null && end !== undefined && Number(id) < end) {
          binaryOnly.push(`${type}:${name} (#${id})`);
          // named by class and number in spans, never "unknown"
          expect(waitEventLabel(major, info)).toEqual({ type, name: `#${id}` });
        } else wrong.push(`${line} → ${JSON.stringify(got)}`);
      }
      if (binaryOnly.length > 0) console.log(`PostgreSQL ${major} (${flavor}) has wait events the table lacks (a newer minor): ${binaryOnly.join(', ')}`);
      if (tableOnly.length > 0) console.log(`the table names wait events of a newer PostgreSQL ${major} minor than this binary: ${tableOnly.join(', ')}`);
      expect(wrong).toEqual([]);
      // what the collector logs at attach: the same additions, read from the binary's code alone
      expect(waitEventsMissingFromTable(major, lib, readElf(lib))).toEqual(binaryOnly.map((b) => b.replace(/:.* \(/, ':').replace(')', '')));
      // the ids the binary names per class are the ones its code bound says
      for (const [cls, count] of counts) {
        const named = lines.filter((l) => l.startsWith(`${cls}\t`) && !/\t(unknown wait event|\?\?\?|\(null\))$/.test(l));
        expect([cls, named.length]).toEqual([cls, count]);
      }
      expect([...counts.keys()].sort((a, b) => a - b)).toEqual([5, 6, 8, 9, 10]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

const PROBE_C = `
#include <dlfcn.h>
#include <stdio.h>
typedef const char *(*fn)(unsigned int);
int main(int argc, char **argv) {
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
  if (!h) { fprintf(stderr, "%s\\n", dlerror()); return 1; }
  fn type = (fn)dlsym(h, "pgstat_get_wait_event_type"), name = (fn)dlsym(h, "pgstat_get_wait_event");
  if (!type || !name) return 2;
  for (unsigned cls = 1; cls <= 12; cls++)
    for (unsigned id = 0; id < 400; id++) {
      unsigned info = (cls << 24) | id;
      if ((cls == 1 && id > 100) || (cls == 7 && id > 0) || cls == 11) continue;
      const char *t = type(info), *n = name(info);
      printf("%u\\t%u\\t%s\\t%s\\n", cls, id, t ? t : "(null)", n ? n : "(null)");
    }
  return 0;
}
`;

/** The executable with DF_1_PIE cleared in DT_FLAGS_1, so that dlopen() loads it. */
function withoutPieFlag(elf: Buffer): Buffer {
  const out = Buffer.from(elf);
  const phoff = Number(out.readBigUInt64LE(0x20));
  const phentsize = out.readUInt16LE(0x36);
  for (let i = 0; i < out.readUInt16LE(0x38); i++) {
    const ph = phoff + i * phentsize;
    if (out.readUInt32LE(ph) !== 2) continue; // PT_DYNAMIC
    const at = Number(out.readBigUInt64LE(ph + 8));
    const end = at + Number(out.readBigUInt64LE(ph + 32));
    for (let d = at; d + 16 <= end; d += 16) {
      if (out.readBigInt64LE(d) === 0x6ffffffbn) out.writeBigUInt64LE(out.readBigUInt64LE(d + 8) & ~0x08000000n, d + 8); // DT_FLAGS_1
    }
  }
  return out;
}
