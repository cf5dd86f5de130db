// The kernel matrix's check, run the same way in each guest (test/kernels/vm.ts)
// and on the host: `node -r test/kernels/ts-register.js test/kernels/check.ts`.
//  1. load the collector's BPF object as the collector does (no feature may be
//     refused) and read each program's verified instruction count: each must
//     stay under a quarter of the verifier's 1M limit; where the gate runs on
//     fexit, load it again with every slot of __sys_recvfrom's trampoline
//     taken: it must fall back to the syscall tracepoints; the other socket
//     hooks' programs are loaded too, for their margins;
//  2. end to end: Debian PostgreSQL in tmpfs, the collector CLI exporting OTLP
//     to a receiver in this process, statements with a sampled traceparent
//     (simple and extended protocol, a lock wait, a 1 MB text): traced,
//     parented, with phases; a CPU-bound one with its CPU profile (perf_event
//     cpu-clock samples with user stacks);
//  3. after the collector stopped: the kernel log gained no leaked uprobe,
//     no WARNING/BUG.
// Progress goes to stderr; the result is one JSON line on stdout (RESULT_MARKER).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import { BpfObject, buildBpfObject, hasProgramType, PROGRAM_TYPES } from '@pgferret/bpf-loader';
import { loadProbes, loadWithSocketHook, SOCKET_HOOKS, SOCKET_PROGRAMS, VERIFIER_BUDGET, type SocketHook } from '../../packages/collector/src/kernel/load';
import type { SpanRecord } from '../../packages/collector/src/embedded/span-record';
import { A } from '../../packages/collector/src/spans/attributes';
import {
  armBackend, eventually, phasesOf, randomTraceparent, startCollector, startReceiver, statementsOf,
  type CollectorProcess, type Receiver,
} from '../helpers/collector';
import { startPostgres, type PgCluster } from '../helpers/postgres';

export const RESULT_MARKER = 'PGFERRET-CHECK-RESULT ';
/** a quarter of the verifier's 1M processed-instruction limit: headroom for other kernels and changes */
export const VERIFIED_INSNS_LIMIT = VERIFIER_BUDGET;
const BPF_OBJECT = path.resolve(__dirname, '..', '..', 'packages', 'collector', 'build', 'pgferret.bpf.o');
/** an fexit program on __sys_recvfrom, built on the host (guests see its root read-only) */
const FILLER_OBJECT = path.resolve(__dirname, '..', '..', 'test-artifacts', 'fill-trampoline.bpf.o');
/** BPF_MAX_TRAMP_LINKS is 38 (27 on s390x): a kernel that takes this many more has no limit the check knows */
const MAX_FILLERS = 64;
/** waits are long: under TCG everything runs 10-50x slower than on the host */
const WAIT_MS = 120_000;
/** a statement span arrives within seconds even under TCG: not seeing one in this long is a failure */
const SPAN_WAIT_MS = 30_000;
const CHILD_WAIT_MS = 5_000;
const ARM_WAIT_MS = 60_000;
const STOP_WAIT_MS = 60_000;
const BAD_KERNEL_LINE = /leaking uprobe|\bWARNING:|\bBUG:|\bOops\b/;

export interface StepResult { name: string; ok: boolean; ms: number; error?: string }
export interface CheckResult {
  /** uname -r */
  release: string;
  /** /proc/version */
  version: string;
  ok: boolean;
  steps: StepResult[];
  /**
   * each program's verified instruction count, and the size of what the kernel
   * kept after dead-code removal (a kernel that proves a path dead shows here)
   * (empty when the object did not load)
   */
  programs: { name: string; verifiedInsns: number; xlatedBytes: number }[];
  /** the uprobe programs were loaded for uprobe_multi links (Linux >= 6.6), else perf-event uprobes */
  uprobeMulti: boolean | null;
  /** the kernel loads tracing (fentry/fexit) programs */
  tracingPrograms: boolean;
  /** how the gate followed sockets: fexit trampolines, the syscall tracepoints or the sys_exit tracepoint (null when the object did not load) */
  socketHook: SocketHook | null;
  /** why it fell back from fexit */
  socketFallback: string | null;
  /** why the gate fell back from fexit with __sys_recvfrom's trampoline full (null where it does not run on fexit) */
  trampolineFullFallback: string | null;
  /** kernel log lines the run added that name a leaked uprobe or a WARNING/BUG */
  badKernelLines: string[];
  /** the collector's kernel counters when it stopped (traced, malformed, ...) */
  counters: Record<string, number> | null;
  totalMs: number;
}

const started = Date.now();
const log = (m: string) => process.stderr.write(`[check +${((Date.now() - started) / 1000).toFixed(1)}s] ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The kernel log's records from /dev/kmsg (sequence number, text), read without blocking. */
function kernelLog(): { seq: number; text: string }[] {
  const fd = fs.openSync('/dev/kmsg', fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const buf = Buffer.alloc(16384);
  const out: { seq: number; text: string }[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue; // records overwritten since the last read: go on with the next
        if (code === 'EAGAIN') break; // the end
        throw e;
      }
      const rec = buf.toString('utf8', 0, n);
      const semi = rec.indexOf(';');
      out.push({ seq: Number(rec.split(',')[1]), text: rec.slice(semi + 1).trimEnd() });
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

async function countersOf(collector: CollectorProcess | undefined): Promise<string> {
  if (!collector) return 'no collector';
  try {
    const k = (await collector.status()).kernel as Record<string, number>;
    return Object.entries(k).filter(([, v]) => v).map(([n, v]) => `${n} ${v}`).join(', ') || 'all 0';
  } catch (e) {
    return `unavailable: ${(e as Error).message}`;
  }
}

/** The statement span of trace `traceId`, once it has arrived. */
async function statementOf(receiver: Receiver, traceId: string): Promise<SpanRecord> {
  await eventually(`the statement span of trace ${traceId}`, () => statementsOf(receiver, traceId).length > 0, SPAN_WAIT_MS);
  return statementsOf(receiver, traceId)[0];
}

/** Waits a little for `check` to pass: a span's children come in its export, or the next. */
async function settle(check: () => void): Promise<void> {
  const deadline = Date.now() + CHILD_WAIT_MS;
  for (;;) {
    try {
      check();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(200);
    }
  }
}

function descendantsOf(receiver: Receiver, span: SpanRecord): SpanRecord[] {
  const children = receiver.spans.filter((s) => s.parentSpanId === span.spanId);
  return children.flatMap((c) => [c, ...descendantsOf(receiver, c)]);
}

function expectParented(span: SpanRecord, tp: { traceId: string; spanId: string }): void {
  if (span.traceId !== tp.traceId || span.parentSpanId !== tp.spanId) {
    throw new Error(`span ${span.name} is in trace ${span.traceId} under ${span.parentSpanId}, not ${tp.traceId} under ${tp.spanId}`);
  }
}

function expectPhases(receiver: Receiver, span: SpanRecord): Promise<void> {
  return settle(() => phasesPresent(receiver, span));
}

function phasesPresent(receiver: Receiver, span: SpanRecord): void {
  const names = phasesOf(receiver, span).map((p) => p.name);
  const missing = ['parse', 'plan', 'execute'].filter((p) => !names.includes(p));
  if (missing.length) throw new Error(`span ${span.name} lacks phases ${missing.join(', ')} (has: ${names.join(', ') || 'none'}; untimed: ${span.attributes['pgferret.phases.untimed'] === true})`);
}

export async function runCheck(): Promise<CheckResult> {
  const steps: StepResult[] = [];
  let programs: CheckResult['programs'] = [];
  let uprobeMulti: boolean | null = null;
  let socketHook: CheckResult['socketHook'] = null;
  let socketFallback: string | null = null;
  let trampolineFullFallback: string | null = null;
  let counters: CheckResult['counters'] = null;
  let pg: PgCluster | undefined;
  let receiver: Receiver | undefined;
  let collector: CollectorProcess | undefined;
  /** the collector's threads, read just before it is stopped: a leaked uprobe line names one of them */
  const collectorTids = new Set<number>();
  let a: Client | undefined;
  let b: Client | undefined;
  const step = async (name: string, fn: () => Promise<void> | void, needs: string[] = []): Promise<boolean> => {
    const t = Date.now();
    const failedNeed = needs.find((n) => !steps.find((s) => s.name === n)?.ok);
    if (failedNeed) {
      steps.push({ name, ok: false, ms: 0, error: `not run: ${failedNeed} failed` });
      return false;
    }
    log(`${name} ...`);
    try {
      await fn();
      steps.push({ name, ok: true, ms: Date.now() - t });
      log(`${name}: ok (${((Date.now() - t) / 1000).toFixed(1)} s)`);
      return true;
    } catch (e) {
      let error = (e as Error).message;
      // what the kernel side saw tells a verifier-pruned path from a lost export
      if (needs.includes('arm backends') || name === 'arm backends') error += ` (collector kernel counters: ${await countersOf(collector)})`;
      steps.push({ name, ok: false, ms: Date.now() - t, error });
      log(`${name}: FAILED: ${error}`);
      return false;
    }
  };

  const logFrom = Math.max(0, ...kernelLog().map((r) => r.seq)) + 1;

  await step('load', () => {
    // as the collector loads it (a feature whose programs the kernel refuses would be left out), and its socket hook attached
    const { loaded } = loadWithSocketHook(BPF_OBJECT, (m) => log(`loader: ${m}`));
    uprobeMulti = loaded.uprobeMulti;
    socketHook = loaded.socketHook;
    socketFallback = loaded.socketFallback;
    log(`uprobes attach as ${uprobeMulti ? 'uprobe_multi links' : 'perf-event uprobes, one per site'}; sockets followed with ${socketHook}${socketFallback ? ` (${socketFallback})` : ''}`);
    try {
      programs = loaded.programs.map((p) => ({ name: p.name, verifiedInsns: p.verifiedInsns, xlatedBytes: p.xlatedBytes }));
    } finally {
      loaded.obj.close();
    }
    // the hooks this kernel does not choose, loaded for their verifier counts (a fallback must load where it is needed)
    for (const hook of SOCKET_HOOKS.slice(SOCKET_HOOKS.indexOf(loaded.socketHook) + 1)) {
      const other = loadProbes(BPF_OBJECT, (m) => log(`loader (${hook}): ${m}`), { socketHook: hook });
      try {
        if (other.socketHook !== hook) throw new Error(`asked to load the ${hook} socket programs, the loader fell back to ${other.socketHook}: ${other.socketFallback}`);
        for (const p of other.programs) {
          if (!(SOCKET_PROGRAMS[hook] as readonly string[]).includes(p.name)) continue;
          programs = programs.map((q) => (q.name === p.name ? { name: p.name, verifiedInsns: p.verifiedInsns, xlatedBytes: p.xlatedBytes } : q));
        }
      } finally {
        other.obj.close();
      }
    }
    const refused = Object.entries(loaded.refused).filter(([, why]) => why !== null);
    if (refused.length) throw new Error(`features refused by this kernel: ${refused.map(([f, why]) => `${f} (${why})`).join('; ')}`);
    const over = programs.filter((p) => p.verifiedInsns > VERIFIED_INSNS_LIMIT);
    if (over.length) throw new Error(`over ${VERIFIED_INSNS_LIMIT} verified instructions: ${over.map((p) => `${p.name} ${p.verifiedInsns}`).join(', ')}`);
  });

  await step('full trampoline', () => {
    // the collector's fexit program loads but cannot attach: another tool holds every slot of the function's trampoline
    if (socketHook !== 'fexit') return;
    if (!fs.existsSync(FILLER_OBJECT)) throw new Error(`${FILLER_OBJECT} is missing: build it on the host first (buildFiller() in this file; test/kernels.test.ts does)`);
    const fillers: BpfObject[] = [];
    try {
      for (;;) {
        const filler = BpfObject.open(FILLER_OBJECT);
        fillers.push(filler);
        filler.load();
        try {
          filler.attachTrace('fill_recvfrom');
        } catch (e) {
          if (/trampoline is full/.test((e as Error).message)) break;
          throw e;
        }
        if (fillers.length >= MAX_FILLERS) throw new Error(`${MAX_FILLERS} fexit programs attached to __sys_recvfrom and no limit reached: the check cannot fill its trampoline`);
      }
      log(`__sys_recvfrom's trampoline full after ${fillers.length - 1} fexit programs`);
      const { loaded } = loadWithSocketHook(BPF_OBJECT, (m) => log(`loader: ${m}`));
      loaded.obj.close();
      trampolineFullFallback = loaded.socketFallback;
      if (loaded.socketHook !== 'syscalls') throw new Error(`with __sys_recvfrom's trampoline full the gate attached at ${loaded.socketHook}`);
    } finally {
      for (const f of fillers) f.close();
    }
  }, ['load']);

  try {
    await step('postgres', async () => {
      pg = await startPostgres({ flavor: 'debian' });
      log(`PostgreSQL ${pg.major} on port ${pg.port} (${pg.binDir})`);
    });
    await step('collector', async () => {
      receiver = await startReceiver();
      collector = await startCollector(['--port', String(pg!.port), '--root-sample-rate', '0'], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
      await collector.waitFor(/running; Ctrl-C to stop/, WAIT_MS);
    }, ['postgres']);
    await step('arm backends', async () => {
      a = new Client({ connectionString: pg!.connectionString });
      b = new Client({ connectionString: pg!.connectionString });
      await a.connect();
      await b.connect();
      await a.query(`CREATE TABLE inventory (sku text PRIMARY KEY, stock int NOT NULL); INSERT INTO inventory VALUES ('ferret', 10)`);
      // phase probes come to a backend after its first sampled statement
      await armBackend((sql) => a!.query(sql), collector!, ARM_WAIT_MS);
      await armBackend((sql) => b!.query(sql), collector!, ARM_WAIT_MS);
    }, ['collector']);

    await step('simple protocol', async () => {
      const tp = randomTraceparent();
      await a!.query(`SELECT count(*) FROM pg_class ${tp.comment}`);
      const s = await statementOf(receiver!, tp.traceId);
      expectParented(s, tp);
      await expectPhases(receiver!, s);
    }, ['arm backends']);

    await step('extended protocol', async () => {
      const tp = randomTraceparent();
      const r = await a!.query(`SELECT relname FROM pg_class WHERE oid = $1 ${tp.comment}`, [1259]);
      if (r.rows[0]?.relname !== 'pg_class') throw new Error(`unexpected result ${JSON.stringify(r.rows)}`);
      const s = await statementOf(receiver!, tp.traceId);
      expectParented(s, tp);
      await expectPhases(receiver!, s);
    }, ['arm backends']);

    await step('lock wait', async () => {
      const tp = randomTraceparent();
      await a!.query('BEGIN');
      await a!.query(`UPDATE inventory SET stock = stock - 1 WHERE sku = 'ferret'`);
      const commit = sleep(1000).then(() => a!.query('COMMIT'));
      try {
        await b!.query(`UPDATE inventory SET stock = stock + 1 WHERE sku = 'ferret' ${tp.comment}`);
      } finally {
        await commit; // the next steps use this connection outside a transaction
      }
      const s = await statementOf(receiver!, tp.traceId);
      expectParented(s, tp);
      await settle(() => {
        const waits = descendantsOf(receiver!, s).filter((w) => w.name.startsWith('wait Lock:'));
        if (waits.length !== 1) throw new Error(`${waits.length} lock wait spans under the waiting statement, not 1 (its descendants: ${descendantsOf(receiver!, s).map((d) => d.name).join(', ') || 'none'})`);
        const ms = Number(waits[0].endNs - waits[0].startNs) / 1e6;
        if (ms < 500) throw new Error(`the lock wait span lasts ${ms.toFixed(0)} ms; the lock was held ~1000 ms`);
      });
    }, ['arm backends']);

    await step('1 MB statement', async () => {
      const tp = randomTraceparent();
      const mb = 'x'.repeat(1024 * 1024);
      const r = await a!.query(`SELECT length('${mb}') AS big ${tp.comment}`);
      if (r.rows[0]?.big !== 1024 * 1024) throw new Error(`unexpected result ${JSON.stringify(r.rows[0]).slice(0, 100)}`);
      const s = await statementOf(receiver!, tp.traceId);
      expectParented(s, tp);
      if (s.attributes['pgferret.query_text.truncated'] !== true) throw new Error('the span does not say its text was truncated');
      const len = Number(s.attributes['pgferret.query_text.length']);
      if (!(len > 1024 * 1024)) throw new Error(`pgferret.query_text.length is ${len}, the statement is over 1 MiB`);
    }, ['arm backends']);

    await step('CPU profile', async () => {
      const tp = randomTraceparent();
      // it sleeps 0.3 s before it burns the CPU: the VM has one emulated CPU, and the collector (nice 19)
      // switches the clock on when it reads the statement's start, when it gets a turn. Once in CI (6.12)
      // a statement that burned the CPU from its first instant got no profile at all (14 samples in the
      // whole run): most likely the collector got its turn only after the statement's end
      await a!.query(`SELECT count(*) FROM (SELECT pg_sleep(0.3)) s, generate_series(1, 1000000) g WHERE g % 7 = 3 ${tp.comment}`);
      const s = await statementOf(receiver!, tp.traceId);
      expectParented(s, tp);
      const samples = Number(s.attributes[A.profileSamples]);
      if (!(samples >= 10)) {
        // why: its backend held back by the budget (no detail), its clock switched on late, or none attached
        const st = await collector!.status();
        throw new Error(`the statement's profile has ${samples} samples; it ran ${s.attributes[A.cpuOnMs]} ms on CPU at 997 Hz ` +
          `(its detail: ${s.attributes[A.detailShed] ?? 'all'}, profile late by ${s.attributes[A.profileLateMs] ?? 0} ms; the collector's clocks ${st.profile.clocks}, ` +
          `budget ${st.budget ? `${st.budget.recentPct.toFixed(2)} % recently of ${st.budget.maxOverheadPct} %` : 'off'})`);
      }
      const folded = s.events.find((e) => e.name === 'pgferret.profile')?.attributes[A.profileFolded];
      if (typeof folded !== 'string' || !folded.includes('ExecutorRun')) throw new Error(`its folded stacks do not reach the executor: ${String(folded).slice(0, 300)}`);
    }, ['arm backends']);
  } finally {
    await a?.end().catch(() => {});
    await b?.end().catch(() => {});
    if (collector) {
      try {
        counters = (await collector.status()).kernel;
      } catch {
        // not running (any more): the collector step says why
      }
      const c = collector;
      if (steps.find((s) => s.name === 'collector')?.ok) {
        await step('collector stop', async () => {
          // SIGTERM and time to detach: a SIGKILL in the middle of it would itself leak uprobes
          if (c.child.exitCode !== null || c.child.signalCode !== null) throw new Error(`the collector had exited before (${c.child.exitCode ?? c.child.signalCode}):\n${c.output().slice(-2000)}`);
          const exited = new Promise<number | null>((r) => c.child.once('exit', (code) => r(code)));
          for (const t of fs.readdirSync(`/proc/${c.child.pid}/task`)) collectorTids.add(Number(t));
          c.child.kill('SIGTERM');
          const code = await Promise.race([exited, sleep(STOP_WAIT_MS).then(() => 'timeout' as const)]);
          if (code === 'timeout') throw new Error(`the collector did not exit within ${STOP_WAIT_MS / 1000} s of SIGTERM:\n${c.output().slice(-2000)}`);
          if (code !== 0) throw new Error(`the collector exited with ${code}:\n${c.output().slice(-2000)}`);
        });
        await c.stop(); // its state directory (and a SIGKILL if it never exited)
      } else {
        await c.stop();
      }
    }
    await receiver?.close();
    await pg?.stop();
  }

  let badKernelLines: string[] = [];
  // A leaked uprobe names the task that failed to remove it ("uprobe: node:TID
  // failed to unregister"): on a shared host other processes' collectors (a
  // test that SIGKILLs one mid-attach) log such lines too; only this
  // collector's threads count. Other warnings count whoever logs them.
  const ours = (text: string) => {
    const m = /uprobe: [^:]*:(\d+) failed/.exec(text);
    return !m || collectorTids.has(Number(m[1]));
  };
  await step('kernel log', async () => {
    await sleep(1000); // a detach's complaint may come a moment later
    badKernelLines = kernelLog().filter((r) => r.seq >= logFrom && BAD_KERNEL_LINE.test(r.text) && ours(r.text)).map((r) => r.text);
    if (badKernelLines.length) throw new Error(`the kernel logged:\n${badKernelLines.join('\n')}`);
  });

  return {
    release: os.release(),
    version: fs.readFileSync('/proc/version', 'utf8').trim(),
    ok: steps.every((s) => s.ok),
    steps,
    programs,
    uprobeMulti,
    tracingPrograms: hasProgramType(PROGRAM_TYPES.tracing) === true,
    socketHook,
    socketFallback,
    trampolineFullFallback,
    badKernelLines,
    counters,
    totalMs: Date.now() - started,
  };
}

if (require.main === module) {
  runCheck().then(
    (r) => {
      process.stdout.write(`${RESULT_MARKER}${JSON.stringify(r)}\n`);
      process.exit(r.ok ? 0 : 1);
    },
    (e) => {
      log(`check crashed: ${(e as Error).stack ?? e}`);
      process.exit(2);
    },
  );
}

/** Builds the trampoline filler (on the host, before any guest runs the check: their root is read-only). */
export function buildFiller(): void {
  buildBpfObject({ source: path.join(__dirname, 'fill-trampoline.bpf.c'), output: FILLER_OBJECT });
}
