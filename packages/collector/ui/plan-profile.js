// The EXPLAIN plan (with --postgres-url) beside the CPU profile: each plan
// node's line carries the share of samples its node type took, so
// "62 % in Hash Join (ExecScanHashBucket)" points at a line of the plan. The
// profile knows node types, not node instances: two Seq Scans share one figure,
// and the line says so.
import { h } from './dom.js';
import { A } from './attributes.js';

/** "Parallel Seq Scan on orders o" → "Seq Scan"; "HashAggregate" → "Aggregate"; "Hash Left Join" → "Hash Join" */
export function nodeType(label) {
  const t = label.replace(/ (on|using) .*$/, '').replace(/^(Parallel|Partial|Finalize) /, '');
  if (/Aggregate$/.test(t)) return 'Aggregate';
  const join = /^(Hash|Merge) (Left |Right |Full |Semi |Anti |Right Semi |Right Anti )?Join$/.exec(t);
  if (join) return `${join[1]} Join`;
  if (/^Nested Loop( .* Join)?$/.test(t)) return 'Nested Loop';
  return t;
}

/** The plan's lines, its node lines with their node type's share: { text, share, sharedBy } (share null: no samples in that type). */
export function annotatePlan(plan, nodes, counts, total) {
  const byType = new Map(nodes.map((n, i) => [n, Number(counts[i]) || 0]));
  const lines = plan.split('\n').map((text, i) => {
    const m = /^(\s*)(->\s+)?(.*?)(\s\s\(cost=.*)?$/.exec(text);
    const isNode = i === 0 || Boolean(m[2]);
    const type = isNode ? nodeType(m[3].trim()) : null;
    return { text, type };
  });
  const instances = new Map();
  for (const l of lines) if (l.type) instances.set(l.type, (instances.get(l.type) ?? 0) + 1);
  return lines.map(({ text, type }) => {
    const samples = type ? byType.get(type) : undefined;
    return { text, share: samples && total > 0 ? samples / total : null, sharedBy: type && samples ? instances.get(type) : 0, type };
  });
}

/** The plan with its CPU shares, for a statement that has both; null otherwise. */
export function planWithProfile(s) {
  const plan = s.attributes[A.plan];
  const nodes = s.attributes[A.profileNodes];
  const counts = s.attributes[A.profileNodeSamples];
  const total = s.attributes[A.profileSamples];
  if (typeof plan !== 'string' || !Array.isArray(nodes) || !Array.isArray(counts) || !(total > 0)) return null;
  const lines = annotatePlan(plan, nodes, counts, total);
  const top = Math.max(0, ...lines.map((l) => l.share ?? 0));
  return [
    h('h3', null, 'The plan, with where the CPU samples were'),
    h(
      'pre',
      { class: 'plan-profile', id: 'plan-profile' },
      lines.map((l) =>
        h(
          'div',
          { class: `plan-line${l.share !== null && l.share === top ? ' hot' : ''}`, 'data-node': l.type ?? '' },
          h('span', { class: 'plan-share' }, l.share === null ? '' : `${Math.round(l.share * 100)} %`.padStart(5)),
          ' ',
          l.text,
          l.sharedBy > 1 ? h('span', { class: 'muted' }, `  (all ${l.sharedBy} ${l.type} nodes together)`) : null,
        ),
      ),
    ),
    h('p', { class: 'muted small' }, `The share of the statement's CPU samples in each plan node's executor functions (plan asked for with EXPLAIN${s.attributes[A.planGeneric] ? ', generic' : ''}; the run may have used another).`),
  ];
}
