// A trace as text for the terminal: the span tree, one line per span, with a
// bar placed and sized on the trace's time axis; waits drawn ▒ (time off CPU),
// and under a span what happened inside PostgreSQL (see inside-notes.ts).
import type { StoredSpan, TraceDetail } from 'pgferret-collector';
import { ms } from './duration';
import { isWait, notes, tag } from './inside-notes';

export interface WaterfallOptions {
  /** columns of the bar area */
  barWidth?: number;
  /** columns of the name area (indentation included) */
  nameWidth?: number;
  /** spans left out (with their subtrees), e.g. Express middleware */
  hide?: (span: StoredSpan) => boolean;
}

function fit(s: string, width: number): string {
  return s.length > width ? s.slice(0, width - 1) + '…' : s.padEnd(width);
}

function label(span: StoredSpan): string {
  const name = span.name.replace(/\s+/g, ' ').trim();
  const t = tag(span);
  return t ? `${name} ${t}` : name;
}

export function formatWaterfall(trace: TraceDetail, opts: WaterfallOptions = {}): string {
  const barWidth = opts.barWidth ?? 40;
  const nameWidth = opts.nameWidth ?? 44;
  const spans = trace.spans;
  if (spans.length === 0) return '(no spans)\n';
  const t0 = spans.reduce((m, s) => (BigInt(s.startNs) < m ? BigInt(s.startNs) : m), BigInt(spans[0].startNs));
  const t1 = spans.reduce((m, s) => (BigInt(s.endNs) > m ? BigInt(s.endNs) : m), BigInt(spans[0].endNs));
  const total = Number(t1 - t0) || 1;

  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string | null, StoredSpan[]>();
  for (const s of spans) {
    // a span whose parent is not in the store is shown at the top level
    const parent = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent)!.push(s);
  }

  const lines: string[] = [];
  const header = `${trace.summary.rootName} (${trace.summary.rootService}) · ${ms(trace.summary.durationMs)} · ${trace.spans.length} spans, ${trace.summary.pgSpanCount} from PostgreSQL · trace ${trace.summary.traceId}`;
  lines.push(header);
  const walk = (parent: string | null, depth: number) => {
    for (const s of children.get(parent) ?? []) {
      if (opts.hide?.(s)) continue;
      const from = Number(BigInt(s.startNs) - t0) / total;
      const to = Number(BigInt(s.endNs) - t0) / total;
      const start = Math.min(barWidth - 1, Math.floor(from * barWidth));
      const len = Math.max(1, Math.round(to * barWidth) - start);
      const bar = ' '.repeat(start) + (isWait(s) ? '▒' : '█').repeat(Math.min(len, barWidth - start));
      const name = fit('  '.repeat(depth) + label(s), nameWidth);
      lines.push(`${name} ${bar.padEnd(barWidth)} ${ms(s.durationMs).padStart(9)}${s.statusCode === 2 ? '  ERROR' : ''}`);
      // notes sit at the children's indentation, not cut to the name column
      for (const note of notes(s, trace)) lines.push(`${'  '.repeat(depth + 1)}│ ${note}`);
      walk(s.spanId, depth + 1);
    }
  };
  walk(null, 0);
  return lines.join('\n') + '\n';
}
