// Where a backend publishes its query identifier (pg_stat_activity.query_id,
// PostgreSQL 14+): MyBEEntry->st_query_id, a uint64 in its PgBackendStatus
// in shared memory. The kernel reads it when a sampled statement's reply is
// sent (bpf/protocol.bpf.h).
//
// offsetof(PgBackendStatus, st_query_id) on x86-64, from
// utils/backend_status.h of 14 to 18 (postgres/postgres; the struct only
// grew after st_query_id since, PG 18's st_plan_id): 424 = 3 ints and 4
// TimestampTz (16 + 32), two Oids (8), SockAddr (136), 7 pointers, bools and
// enums (72), the command target and 20 int64 progress params (4 + 160).
// The binary says the same: pgstat_get_my_query_id() is
// `return MyBEEntry ? MyBEEntry->st_query_id : 0`, and queryIdOffsetInCode
// reads the displacement of that load from its machine code. The collector
// only reads st_query_id where both agree (test/pg-backend-status.test.ts
// checks every binary the tests run, against objdump's disassembly).
// PostgreSQL 13 has no query identifier in PgBackendStatus.

const ST_QUERY_ID: Readonly<Record<number, number>> = { 14: 424, 15: 424, 16: 424, 17: 424, 18: 424 };

/** offsetof(PgBackendStatus, st_query_id) of a major; null where there is none (13) or it is not known. */
export function queryIdOffset(major: number): number | null {
  return ST_QUERY_ID[major] ?? null;
}

/**
 * The displacement the machine code of pgstat_get_my_query_id (x86-64, at
 * link-time address `at`) loads st_query_id with: a RIP-relative load of
 * MyBEEntry (at `beEntry`) into a register, then a 64-bit load from that
 * register plus a displacement. null when the code is not of that shape.
 */
export function queryIdOffsetInCode(code: Buffer, at: bigint, beEntry: bigint): number | null {
  let reg = -1;
  for (let i = 0; i + 3 <= code.length; ) {
    const rex = code[i];
    const isRexW = (rex & 0xf8) === 0x48;
    if (code[i] === 0xc3) return null; // ret before the load
    if (!isRexW || code[i + 1] !== 0x8b) {
      i++;
      continue;
    }
    const modrm = code[i + 2];
    const mod = modrm >> 6;
    const rm = (modrm & 7) | (rex & 1 ? 8 : 0);
    const dst = ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0);
    if (reg < 0 && mod === 0 && (modrm & 7) === 5 && i + 7 <= code.length) {
      // mov r64, [rip + rel32]: the next instruction's address plus rel32
      const target = at + BigInt(i + 7) + BigInt(code.readInt32LE(i + 3));
      if (target === beEntry) reg = dst;
      i += 7;
      continue;
    }
    if (reg >= 0 && rm === reg && (modrm & 7) !== 4) {
      if (mod === 2 && i + 7 <= code.length) return code.readInt32LE(i + 3);
      if (mod === 1 && i + 4 <= code.length) return code.readInt8(i + 3);
    }
    i++;
  }
  return null;
}
