// Invariants every span the collector produces must keep (issue 21): a
// statement's I/O time is no longer than the statement (times the processes
// that did it: PostgreSQL adds parallel workers' I/O time to the leader's);
// its phases lie inside it; every wait lies inside the phase (or statement)
// it is a child of; nothing ends before it starts.
import { isPostgresServerSpan, type SpanRecord } from '../../packages/collector/src/embedded/span-record';

const IO_ATTRIBUTES = ['shared', 'local', 'temp'].flatMap((k) => [`postgresql.io.${k}.read_ms`, `postgresql.io.${k}.write_ms`]);

/**
 * What is wrong with the spans of one trace, as readable lines (none when
 * all add up). `processes`: 1 + the parallel workers a statement may have.
 */
export function violations(spans: SpanRecord[], processes = 1): string[] {
  const out: string[] = [];
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const ms = (a: bigint, b: bigint) => Number(b - a) / 1e6;
  for (const s of spans) {
    const duration = ms(s.startNs, s.endNs);
    if (duration < 0) out.push(`${s.name}: ends before it starts`);
    if (isPostgresServerSpan(s)) {
      for (const a of IO_ATTRIBUTES) {
        const v = s.attributes[a];
        if (typeof v === 'number' && v > duration * processes) out.push(`${s.name}: ${a} ${v.toFixed(3)} ms > ${processes} × its duration ${duration.toFixed(3)} ms`);
      }
    }
    const parent = s.parentSpanId ? byId.get(s.parentSpanId) : undefined;
    if (!parent) continue;
    const isPhase = typeof s.attributes['postgresql.phase'] === 'string';
    const isWait = s.name.startsWith('wait ');
    if ((isPhase || isWait) && (s.startNs < parent.startNs || s.endNs > parent.endNs)) {
      out.push(`${s.name} [${ms(parent.startNs, s.startNs).toFixed(3)}, ${ms(parent.startNs, s.endNs).toFixed(3)}] ms lies outside its parent ${parent.name} [0, ${ms(parent.startNs, parent.endNs).toFixed(3)}] ms`);
    }
  }
  return out;
}

