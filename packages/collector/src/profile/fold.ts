// Folds a statement's CPU samples into stacks ("root;…;leaf" → samples, as
// flame graphs and `flamegraph.pl` read them) and sums them up: the top
// functions by self and by inclusive time, and the plan nodes the time went to.
import { GENERIC_SCAN, isCatalogAccess, isSpine, planNodeOf, SCAN_NODES } from './plan-nodes';
import type { Symbolizer } from './symbolize';

export interface FoldedProfile {
  samples: number;
  /** folded stacks, heaviest first */
  stacks: [string, number][];
}

export interface Share {
  name: string;
  samples: number;
}

export interface NodeShare {
  /** as EXPLAIN names it: `Hash Join`, `Seq Scan` */
  node: string;
  samples: number;
  /** the function that took most of the node's samples (self time) */
  fn: string;
}

export interface ProfileSummary {
  samples: number;
  /** samples whose stack reaches PostgresMain: the frame-pointer walk went all the way */
  whole: number;
  self: Share[];
  inclusive: Share[];
  nodes: NodeShare[];
}

export function foldSamples(sym: Symbolizer, pid: number, samples: readonly { ips: readonly number[] }[]): FoldedProfile {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const names = sym.symbolize(pid, s.ips);
    const frames: string[] = [];
    // root first; runs of one unnamed file collapse (its static functions are not told apart)
    for (let i = names.length - 1; i >= 0; i--) {
      const n = names[i];
      if (n.startsWith('[') && frames[frames.length - 1] === n) continue;
      frames.push(n.replace(/;/g, ':'));
    }
    const key = frames.join(';');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return { samples: samples.length, stacks: [...counts].sort((a, b) => b[1] - a[1]) };
}

/** Every statement of a backend runs under it: a stack that has it was walked whole. */
const WHOLE_STACK_ROOT = 'PostgresMain';

/** How many frames from the root can name a plan node: those above the first catalog access. */
function planFrames(frames: readonly string[]): number {
  const at = frames.findIndex(isCatalogAccess);
  return at < 0 ? frames.length : at;
}

function top(m: Map<string, number>, n: number): Share[] {
  return [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, samples]) => ({ name, samples }));
}

export function summarize(p: FoldedProfile, n = 5): ProfileSummary {
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  const nodes = new Map<string, Map<string, number>>();
  const all = p.stacks.map(([stack, count]) => {
    const frames = stack.split(';');
    return [frames, count, planFrames(frames)] as const;
  });
  // ExecScan is the scan node the profile shows elsewhere, when it shows exactly one kind
  const scans = new Set(all.flatMap(([frames, , end]) => frames.slice(0, end).map(planNodeOf).filter((n): n is string => n !== null && SCAN_NODES.has(n))));
  const genericScan = scans.size === 1 ? [...scans][0] : 'Scan';
  let whole = 0;
  for (const [frames, count, end] of all) {
    if (frames.includes(WHOLE_STACK_ROOT)) whole += count;
    const leaf = frames[frames.length - 1];
    self.set(leaf, (self.get(leaf) ?? 0) + count);
    for (const f of new Set(frames)) if (!isSpine(f)) incl.set(f, (incl.get(f) ?? 0) + count);
    for (let i = end - 1; i >= 0; i--) {
      const node = frames[i] === GENERIC_SCAN ? genericScan : planNodeOf(frames[i]);
      if (!node) continue;
      // the named function nearest the leaf says where in the node the time went
      const fn = frames.slice(i).reverse().find((f) => !f.startsWith('[')) ?? frames[i];
      const per = nodes.get(node) ?? new Map<string, number>();
      per.set(fn, (per.get(fn) ?? 0) + count);
      nodes.set(node, per);
      break;
    }
  }
  const nodeShares = [...nodes].map(([node, per]) => {
    const fns = top(per, 1);
    return { node, samples: [...per.values()].reduce((a, b) => a + b, 0), fn: fns[0]?.name ?? '' };
  });
  return { samples: p.samples, whole, self: top(self, n), inclusive: top(incl, n), nodes: nodeShares.sort((a, b) => b.samples - a.samples).slice(0, n) };
}

/** The folded stacks as text, heaviest first, in at most maxBytes (UTF-8); `truncated` when some were left out. */
export function foldedText(p: FoldedProfile, maxBytes: number): { text: string; truncated: boolean } {
  const lines: string[] = [];
  let bytes = 0;
  for (const [stack, count] of p.stacks) {
    const line = `${stack} ${count}`;
    const len = Buffer.byteLength(line) + 1;
    if (bytes + len > maxBytes) return { text: lines.join('\n'), truncated: true };
    lines.push(line);
    bytes += len;
  }
  return { text: lines.join('\n'), truncated: false };
}

export const percent = (part: number, whole: number) => (whole > 0 ? Math.round((100 * part) / whole) : 0);

/** "62 % in Hash Join (ExecScanHashBucket)" */
export function nodeLine(s: NodeShare, total: number): string {
  return `${percent(s.samples, total)} % in ${s.node} (${s.fn})`;
}
