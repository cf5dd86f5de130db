// Span attribute names have one definition, src/spans/attributes.ts: span
// building, the web UI (via /attributes.js), the demo's text waterfall and
// the docs table follow it. A name spelled out anywhere else, or a table row
// that differs from the registry, fails here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { A, ATTRIBUTES, ATTRIBUTES_MODULE } from '../src/spans/attributes';

const ROOT = path.join(__dirname, '..', '..', '..');
const REGISTRY = path.join(ROOT, 'packages', 'collector', 'src', 'spans', 'attributes.ts');

function files(dir: string, ext: RegExp): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return files(p, ext);
    return ext.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

test('no attribute name is spelled out beside the registry', () => {
  const names = Object.values(A).map((n) => n.replace(/\./g, '\\.'));
  const quoted = new RegExp(`['"\`](?:${names.join('|')})['"\`]`);
  const places = [
    ...files(path.join(ROOT, 'packages', 'collector', 'src'), /\.ts$/),
    ...files(path.join(ROOT, 'packages', 'collector', 'ui'), /\.js$/),
    ...files(path.join(ROOT, 'packages', 'demo', 'src'), /\.ts$/),
  ].filter((f) => f !== REGISTRY);
  const spelled = places.flatMap((f) =>
    fs.readFileSync(f, 'utf8').split('\n').flatMap((line, i) => (quoted.test(line) ? [`${path.relative(ROOT, f)}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(spelled).toEqual([]);
});

test('docs/inside-execute.md lists exactly the registry', () => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'inside-execute.md'), 'utf8');
  const table = doc.slice(doc.indexOf('## Every attribute'));
  const rows = table.split('\n').filter((l) => l.startsWith('| `'));
  const expected = Object.values(ATTRIBUTES).map((a) => `| \`${a.name}\` | ${a.type} | ${a.on.join(', ')} | ${a.meaning} |`);
  expect(rows).toEqual(expected);
});

test('the UI gets the names as an ES module', () => {
  const body = /^export const A = Object\.freeze\((.*)\);\n$/.exec(ATTRIBUTES_MODULE);
  expect(body && JSON.parse(body[1])).toEqual(A);
});
