// What a statement's CPU profile puts on its span: bounded attributes (the
// top functions by self and inclusive time, the plan nodes), the folded
// stacks as a span event of at most 16 KiB (OTLP has no profile signal in
// the exporters pgferret uses), and the whole folded text for the embedded store.
import type { Attributes } from '@opentelemetry/api';
import { foldedText, nodeLine, type FoldedProfile } from '../profile/fold';
import { summarize } from '../profile/fold';
import { A } from './attributes';
import type { MonotonicClock } from './clock';
import type { SpanData } from './span-data';

export const PROFILE_EVENT = 'pgferret.profile';
export const FOLDED_EVENT_MAX = 16 * 1024;

/** A clock switched on later than this after its statement began is said on the span. */
const LATE_NS = 1_000_000;

export function addProfile(span: SpanData, p: FoldedProfile, hz: number, lateNs: number, endNs: number, clock: MonotonicClock): void {
  if (p.samples === 0) return;
  const sum = summarize(p);
  const attrs: Attributes = {
    [A.profileSamples]: p.samples,
    [A.profileHz]: hz,
    [A.profileWholeStacks]: sum.whole,
    [A.profileTopSelf]: sum.self.map((x) => x.name),
    [A.profileTopSelfSamples]: sum.self.map((x) => x.samples),
    [A.profileTopInclusive]: sum.inclusive.map((x) => x.name),
    [A.profileTopInclusiveSamples]: sum.inclusive.map((x) => x.samples),
  };
  if (lateNs >= LATE_NS) attrs[A.profileLateMs] = Math.round(lateNs / 1e5) / 10;
  if (sum.nodes.length > 0) {
    attrs[A.profileSummary] = nodeLine(sum.nodes[0], p.samples);
    attrs[A.profileNodes] = sum.nodes.map((n) => n.node);
    attrs[A.profileNodeSamples] = sum.nodes.map((n) => n.samples);
  }
  Object.assign(span.attributes, attrs);
  const folded = foldedText(p, FOLDED_EVENT_MAX);
  span.events = [...span.events, {
    name: PROFILE_EVENT,
    time: clock.toHrTime(endNs),
    attributes: { [A.profileFolded]: folded.text, [A.profileTruncated]: folded.truncated },
  }];
  span.profile = foldedText(p, Infinity).text;
}
