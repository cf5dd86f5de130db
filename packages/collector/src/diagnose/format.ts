// The diagnose report as text for a terminal.
import type { Report } from './report';

const BARS = '▁▂▃▄▅▆▇█';

function sparkline(values: number[]): string {
  const max = Math.max(1, ...values);
  return values.map((v) => (v === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])).join('');
}

const ms = (n: number) => (n >= 1000 ? `${(n / 1000).toFixed(2)} s` : `${n.toFixed(n < 10 ? 2 : 1)} ms`);
const pct = (n: number) => `${(100 * n).toFixed(1)}%`;
const cut = (s: string, n = 70) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export function formatReport(r: Report): string {
  const s = r.summary;
  const out: string[] = [];
  out.push(`pgferret diagnose: ${r.durationSeconds} s from ${r.startedAt}`);
  for (const c of r.clusters) {
    out.push(`  cluster pid ${c.pid}, PostgreSQL ${c.major ?? '?'}, port ${c.port ?? '?'}, ${c.dataDir}: ${c.error ? `NOT TRACED: ${c.error}` : `${c.probeSet} probes`}`);
  }
  out.push('', 'Summary');
  out.push(`  statements: ${s.statementsSeen} seen (${s.statementsPerSecond}/s), ${s.statementsTraced} traced (${pct(s.tracedShare)}): ` +
    `${s.withTraceContext} with the app's trace context, ${s.sampledRoots} sampled as roots (rate ${s.rootSampleRate})`);
  out.push(`  latency of traced statements: p50 ${ms(s.latency.p50Ms)}, p95 ${ms(s.latency.p95Ms)}, p99 ${ms(s.latency.p99Ms)}, max ${ms(s.latency.maxMs)}`);
  out.push(`  errors: ${s.errors} (${pct(s.errorRate)})${s.recordsDropped ? `; ${s.recordsDropped} kernel records dropped` : ''}${s.notKept ? `; ${s.notKept} statements counted but not kept` : ''}`);

  out.push('', 'Slowest statements (by total time)');
  if (r.slowestFingerprints.length === 0) out.push('  none traced');
  for (const f of r.slowestFingerprints) {
    out.push(`  ${ms(f.totalMs).padStart(10)} total  ${String(f.calls).padStart(6)} calls  p95 ${ms(f.p95Ms).padStart(9)}  ${f.errors ? `${f.errors} errors  ` : ''}${cut(f.query)}  [${f.fingerprint}]`);
  }

  out.push('', 'Errors by SQLSTATE');
  if (r.errorsBySqlstate.length === 0) out.push('  none');
  for (const e of r.errorsBySqlstate) out.push(`  ${e.sqlstate} (class ${e.class}) ×${e.count}  e.g. ${cut(e.query)}`);

  out.push('', 'By application / route');
  for (const g of r.byApplicationRoute) {
    out.push(`  ${(g.application || '-').padEnd(16)} ${(g.route || '-').padEnd(28)} ${String(g.calls).padStart(6)} calls  ${ms(g.totalMs).padStart(10)} total  p95 ${ms(g.p95Ms)}${g.errors ? `  ${g.errors} errors` : ''}`);
  }

  const t = r.timeline;
  out.push('', `Activity (${t.bucketSeconds} s per column, peak ${Math.max(0, ...t.buckets.map((b) => b.statements))} statements)`);
  out.push(`  |${sparkline(t.buckets.map((b) => b.statements))}|`);
  for (const b of t.bursts) out.push(`  burst: ${b.statements} statements from ${b.fromSecond} s to ${b.toSecond} s (${b.timesMedian}× the median second)`);

  out.push('', 'Potential issues');
  if (r.issues.length === 0) out.push('  none found');
  for (const i of r.issues) {
    out.push(`  [${i.severity}] ${i.kind}: ${i.message}`);
    if (i.query) out.push(`      ${cut(i.query, 100)}${i.traceId ? `  (trace ${i.traceId})` : ''}`);
  }
  return out.join('\n') + '\n';
}
