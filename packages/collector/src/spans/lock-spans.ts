// Where a heavyweight lock wait becomes attributes and links: which lock
// (locktag type, mode, relation, tuple, transaction), who holds it, and a
// link to the holder's sampled statement so the UI can jump from the victim
// to the culprit across traces.
import type { Attributes } from '@opentelemetry/api';
import { TraceFlags } from '@opentelemetry/api';
import { lockModeName, lockTagTypeName } from '../pg/wait-events';
import type { LockWait } from './assemble';
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
  if (type) a['postgresql.lock.type'] = type;
  const mode = lockModeName(t.mode);
  if (mode) a['postgresql.lock.mode'] = mode;
  if (t.type === RELATION || t.type === EXTEND || t.type === PAGE || t.type === TUPLE) {
    a['postgresql.lock.database.oid'] = t.field1;
    a['postgresql.lock.relation.oid'] = t.field2;
    if (relationName) a['postgresql.lock.relation.name'] = relationName;
  }
  if (t.type === PAGE || t.type === TUPLE) a['postgresql.lock.page'] = t.field3;
  if (t.type === TUPLE) a['postgresql.lock.tuple'] = t.field4;
  if (t.type === TRANSACTION) a['postgresql.lock.transaction_id'] = t.field1;
  if (l.blockers && l.blockers.length > 0) {
    const first = l.blockers[0];
    a['postgresql.lock.blocker.pids'] = l.blockers.map((b) => b.pid);
    if (first.applicationName) a['postgresql.lock.blocker.application_name'] = first.applicationName;
    if (first.state) a['postgresql.lock.blocker.state'] = first.state;
    if (first.query) a['postgresql.lock.blocker.query'] = mask(first.query);
  } else if (l.blockersMissing) {
    a['pgferret.lock.blocker.unknown'] = l.blockersMissing;
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
      attributes: { 'pgferret.link.type': 'lock_blocker', 'postgresql.backend.pid': b.pid },
    });
  }
  return links;
}
