// Map and program names have one definition: the BPF object. The TypeScript
// names them through the constants generated from it (src/kernel/bpf-names),
// so a renamed map or program fails to compile where the old name is used;
// these checks catch a stale generation and a name spelled as a string.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BPF_OBJECT } from '../src/collector';
import { Maps, Programs } from '../src/kernel/bpf-names';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { readObject } = require('../scripts/gen-bpf-names.js') as { readObject: (f: string) => { maps: string[]; programs: string[] } };

const SRC = path.join(__dirname, '..', 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.generated.ts') ? [p] : [];
  });
}

test('the generated names are the compiled object\'s maps and programs', () => {
  const inObject = readObject(BPF_OBJECT);
  expect(Object.values(Maps).sort()).toEqual(inObject.maps);
  expect(Object.values(Programs).sort()).toEqual(inObject.programs);
});

test('no map or program is named by a string literal in src/', () => {
  // a program name quoted anywhere, or a quoted name given to a call that takes a map
  const programs = Object.values(Programs).join('|');
  const spelled = new RegExp(`['"\`](?:${programs})['"\`]|\\b(?:map|ringBuffer)\\(\\s*['"\`]`);
  const found = sources(SRC).flatMap((f) =>
    fs.readFileSync(f, 'utf8').split('\n').flatMap((line, i) => (spelled.test(line) ? [`${path.relative(SRC, f)}:${i + 1}: ${line.trim()}`] : [])),
  );
  expect(found).toEqual([]);
});
