// Top queries' CPU profile of a fingerprint: the whole folded profiles of its
// slowest executions (the store keeps each statement's, spans/profile-span.ts)
// merged into one, with the same summary a statement span carries — where a
// query's time goes over its bad runs, not one run's accident.
import { foldedText, nodeLine, summarize, type FoldedProfile, type NodeShare, type Share } from '../profile/fold';
import { A } from '../spans/attributes';
import { PROFILE_EVENT } from '../spans/profile-span';
import type { SpanEventRecord } from './span-record';

/** The merged folded text the API returns at most (the heaviest stacks first). */
export const MERGED_FOLDED_MAX = 256 * 1024;

export interface MergedProfile {
  /** the slowest executions looked at, and how many of them carried a profile (an execution on a backend not yet armed, or under one clock tick, has none) */
  statements: number;
  profiled: number;
  samples: number;
  /** of those, the samples whose stack reaches PostgresMain */
  whole: number;
  /** "62 % in Hash Join (ExecScanHashBucket)" over the merged samples, or null */
  summary: string | null;
  nodes: NodeShare[];
  self: Share[];
  inclusive: Share[];
  /** merged folded stacks, heaviest first; `truncated` when lighter ones were left out */
  folded: string;
  truncated: boolean;
  /** the executions merged */
  merged: { traceId: string; spanId: string; durationMs: number; samples: number }[];
}

export interface ProfiledExecution {
  traceId: string;
  spanId: string;
  durationMs: number;
  events: SpanEventRecord[];
}

export function mergeProfiles(executions: readonly ProfiledExecution[]): MergedProfile {
  const counts = new Map<string, number>();
  const merged: MergedProfile['merged'] = [];
  let samples = 0;
  for (const x of executions) {
    const folded = x.events.find((e) => e.name === PROFILE_EVENT)?.attributes[A.profileFolded];
    if (typeof folded !== 'string' || folded === '') continue;
    let n = 0;
    for (const line of folded.split('\n')) {
      const at = line.lastIndexOf(' ');
      const c = Number(line.slice(at + 1));
      if (at <= 0 || !Number.isInteger(c) || c <= 0) continue;
      const stack = line.slice(0, at);
      counts.set(stack, (counts.get(stack) ?? 0) + c);
      n += c;
    }
    samples += n;
    merged.push({ traceId: x.traceId, spanId: x.spanId, durationMs: x.durationMs, samples: n });
  }
  const p: FoldedProfile = { samples, stacks: [...counts].sort((a, b) => b[1] - a[1]) };
  const sum = summarize(p);
  const text = foldedText(p, MERGED_FOLDED_MAX);
  return {
    statements: executions.length,
    profiled: merged.length,
    samples,
    whole: sum.whole,
    summary: sum.nodes.length > 0 ? nodeLine(sum.nodes[0], samples) : null,
    nodes: sum.nodes,
    self: sum.self,
    inclusive: sum.inclusive,
    folded: text.text,
    truncated: text.truncated,
    merged,
  };
}
