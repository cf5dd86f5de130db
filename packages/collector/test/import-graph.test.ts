// The structure of src/: no import cycle, and no arrow climbing back up.
// Each directory has a layer; a module imports only from its own layer or
// below. The top-level files (collector.ts, run.ts, cli.ts, …) wire the
// rest and sit above everything. A new directory must be given a layer here.
import * as fs from 'node:fs';
import * as path from 'node:path';

const SRC = path.join(__dirname, '..', 'src');

const LAYERS: Record<string, number> = {
  io: 0, events: 0,
  kernel: 1, discover: 1,
  pg: 2, probes: 2, profile: 2,
  spans: 3,
  inside: 4, export: 4,
  control: 5,
  arming: 6, clusters: 6, pipeline: 6, plans: 6, metrics: 6, diagnose: 6, embedded: 6,
  admin: 7,
  '.': 8,
};

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative imports and re-exports of a module, resolved to files under src/. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.{1,2}\/[^']*)'/gm)) {
    const base = path.resolve(path.dirname(file), m[1]);
    const hit = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
    if (!hit) throw new Error(`${path.relative(SRC, file)} imports ${m[1]}, which is no file under src/`);
    out.push(path.relative(SRC, hit));
  }
  return out;
}

const graph = new Map(sources(SRC).map((f) => [path.relative(SRC, f), importsOf(f)]));
const layerOf = (f: string) => LAYERS[f.includes('/') ? f.split('/')[0] : '.'];

test('every directory of src/ has a layer', () => {
  expect([...graph.keys()].filter((f) => layerOf(f) === undefined)).toEqual([]);
});

test('no module imports from a layer above its own', () => {
  const up = [...graph].flatMap(([f, deps]) => deps.filter((d) => layerOf(d) > layerOf(f)).map((d) => `${f} → ${d}`));
  expect(up).toEqual([]);
});

test('no import cycle', () => {
  // Tarjan's strongly connected components: any with more than one module is a cycle
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || graph.get(v)!.includes(v)) cycles.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  expect(cycles).toEqual([]);
});
