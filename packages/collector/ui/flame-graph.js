// A CPU profile as a flame graph (root on top, as an icicle): plain SVG from
// folded stacks — a statement's `pgferret.profile` event on its details, a
// query's merged profile in Top queries. A click on a frame zooms to it; a
// click on the root zooms out.
import { h } from './dom.js';
import { A } from './attributes.js';
import { planWithProfile } from './plan-profile.js';

const SVG = 'http://www.w3.org/2000/svg';
const ROW = 18;
/** before the box is laid out */
const FALLBACK_WIDTH = 1000;
const PROFILE_EVENT = 'pgferret.profile';

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** "a;b;c 12" lines → a tree of { name, value, children: Map } */
export function parseFolded(text) {
  const root = { name: 'all', value: 0, children: new Map() };
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' ');
    const n = Number(line.slice(at + 1));
    if (at <= 0 || !(n > 0)) continue;
    root.value += n;
    let node = root;
    for (const name of line.slice(0, at).split(';')) {
      let next = node.children.get(name);
      if (!next) node.children.set(name, (next = { name, value: 0, children: new Map() }));
      next.value += n;
      node = next;
    }
  }
  return root;
}

function depthOf(node) {
  let d = 0;
  for (const c of node.children.values()) d = Math.max(d, depthOf(c));
  return d + 1;
}

// warm colours by name (stable across renders); unnamed frames grey
function colour(name) {
  if (name.startsWith('[')) return '#c9ccd1';
  let x = 0;
  for (const ch of name) x = (x * 31 + ch.charCodeAt(0)) >>> 0;
  return `hsl(${20 + (x % 35)}, ${70 + (x % 20)}%, ${58 + (x % 12)}%)`;
}

function draw(box, root, focus, total) {
  // drawn at the box's own width in pixels: names stay legible in a narrow panel
  const width = box.clientWidth || FALLBACK_WIDTH;
  const rows = depthOf(focus);
  const el = svg('svg', { class: 'flame', viewBox: `0 0 ${width} ${rows * ROW}`, width, height: rows * ROW, role: 'img' });
  const frame = (node, x, w, depth, path) => {
    if (w < 0.5) return;
    const pct = ((100 * node.value) / total).toFixed(1);
    const g = svg('g', { class: 'frame', 'data-name': node.name, 'data-samples': node.value }, svg('title', {}, `${node.name}: ${node.value} samples (${pct} %)`));
    g.append(svg('rect', { x, y: depth * ROW, width: Math.max(w - 0.5, 0.5), height: ROW - 1, fill: colour(node.name), rx: 2 }));
    // the name fits at ~6.5 px a character
    const chars = Math.floor((w - 6) / 6.5);
    if (chars >= 3) g.append(svg('text', { x: x + 3, y: depth * ROW + 13 }, node.name.length > chars ? `${node.name.slice(0, chars - 1)}…` : node.name));
    g.addEventListener('click', () => draw(box, root, node === focus ? root : node, total));
    el.append(g);
    let cx = x;
    for (const c of [...node.children.values()].sort((a, b) => b.value - a.value)) {
      const cw = (w * c.value) / node.value;
      frame(c, cx, cw, depth + 1, path);
      cx += cw;
    }
  };
  frame(focus, 0, width, 0, []);
  box.replaceChildren(el);
}

/** A flame graph of folded stacks, drawn at its box's width once laid out; `props` go on the box. */
export function flameGraph(folded, props = {}) {
  const root = parseFolded(folded);
  const box = h('div', { ...props, class: 'flame-box' });
  draw(box, root, root, root.value);
  // again once the panel has laid the box out
  requestAnimationFrame(() => {
    if (box.isConnected && box.clientWidth !== FALLBACK_WIDTH) draw(box, root, root, root.value);
  });
  return { box, samples: root.value };
}

export const FLAME_HELP = 'Click a frame to zoom to it, the top frame to zoom out. Grey frames: functions of a stripped file (no name).';

/** Said when most stacks stop before PostgresMain (a build without frame pointers): plan nodes are then partial. */
export function shortStacks(whole, samples) {
  return typeof whole === 'number' && whole < samples / 2
    ? ` · stacks stop short (${whole} of ${samples} reach PostgresMain: a build without frame pointers), so plan nodes are partial`
    : null;
}

/** Said when the backend's clock came on after the statement began: its first milliseconds are not in the profile. */
export function lateClock(lateMs) {
  return typeof lateMs === 'number' && lateMs > 0
    ? ` · starts ${lateMs} ms into the statement (the collector was busy when it began): that part is not in the profile`
    : null;
}

/** The CPU profile section of a statement's details; null when it has none. */
export function profileSection(s) {
  const e = s.events.find((x) => x.name === PROFILE_EVENT);
  const folded = e?.attributes[A.profileFolded];
  if (typeof folded !== 'string' || folded === '') return null;
  const { box, samples: foldedSamples } = flameGraph(folded, { id: 'flame-graph' });
  const samples = s.attributes[A.profileSamples] ?? foldedSamples;
  const hz = s.attributes[A.profileHz];
  const summary = s.attributes[A.profileSummary];
  return [
    h('h3', null, 'Where its CPU time went'),
    h(
      'p',
      { class: 'flame-summary' },
      summary ? h('strong', null, summary) : null,
      summary ? ' · ' : null,
      `${samples} samples${hz ? ` at ${hz} Hz of CPU time (≈ ${Math.round((1000 * samples) / hz)} ms on CPU)` : ''}`,
      e.attributes[A.profileTruncated] ? ' · lighter stacks left out' : null,
      shortStacks(s.attributes[A.profileWholeStacks], samples),
      lateClock(s.attributes[A.profileLateMs]),
    ),
    box,
    h('p', { class: 'muted small' }, FLAME_HELP),
    planWithProfile(s),
  ];
}

export { PROFILE_EVENT };
