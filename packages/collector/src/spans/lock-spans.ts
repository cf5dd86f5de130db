// Where a heavyweight lock wait becomes attributes and links: which lock
// (locktag type, mode, relation, tuple, transaction), who holds it, and a
// link to the holder's sampled statement so the UI can jump from the victim
// to the culprit across traces.
import type { Attributes } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { lockModeName, lockTagTypeName } from '../pg/wait-events';
import type { LockWait } from './assemble';
import { A } from './attributes';
import type { SpanLinkData } from './span-data';

// LockTagType values whose fields mean the same in every supported major (lock.h)
const RELATION = 0;
const EXTEND = 1;
const PAGE = 3;
const TUPLE = 4;
const TRANSACTION = 5;

export function lockAttributes(major: number, l: LockWait, relationName: string | null, mask: (q: string) => string): Attributes {
  const t = l.tag;
  const a: Attributes = {};
  const type = lockTagTypeName(major, t.type);
  if (type) a[A.lockType] = type;
  const mode = lockModeName(t.mode);
  if (mode) a[A.lockMode] = mode;
  if (t.type === RELATION || t.type === EXTEND || t.type === PAGE || t.type === TUPLE) {
    a[A.lockDatabaseOid] = t.field1;
    a[A.lockRelationOid] = t.field2;
    if (relationName) a[A.lockRelationName] = relationName;
  }
  if (t.type === PAGE || t.type === TUPLE) a[A.lockPage] = t.field3;
  if (t.type === TUPLE) a[A.lockTuple] = t.field4;
  if (t.type === TRANSACTION) a[A.lockTransactionId] = t.field1;
  if (l.blockers && l.blockers.length > 0) {
    const first = l.blockers[0];
    a[A.lockBlockerPids] = l.blockers.map((b) => b.pid);
    if (first.applicationName) a[A.lockBlockerApplicationName] = first.applicationName;
    if (first.state) a[A.lockBlockerState] = first.state;
    if (first.query) a[A.lockBlockerQuery] = mask(first.query);
  } else if (l.blockersMissing) {
    a[A.lockBlockerUnknown] = l.blockersMissing;
  }
  return a;
}

export function blockerLinks(l: LockWait): SpanLinkData[] {
  const links: SpanLinkData[] = [];
  for (const b of l.blockers ?? []) {
    if (!b.span) continue;
    links.push({
      traceId: b.span.traceId,
      spanId: b.span.spanId,
      traceFlags: TraceFlags.SAMPLED,
      isRemote: false,
      attributes: { [A.linkType]: 'lock_blocker', [A.backendPid]: b.pid },
    });
  }
  return links;
}
