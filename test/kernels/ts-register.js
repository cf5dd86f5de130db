// `node -r ./test/kernels/ts-register.js file.ts`: runs the repo's TypeScript
// (the kernel check and the test helpers it reuses) without jest, which starts
// slowly under QEMU's TCG. Transpile only (types are checked by tsc and
// ts-jest elsewhere). Output is cached under node_modules/.cache: the host
// fills it, a guest (read-only root) reads it and never loads the compiler.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'pgferret-kernels-ts');
let ts;

function compile(source, filename) {
  const key = crypto.createHash('sha256').update(filename).update('\0').update(source).digest('hex');
  const cached = path.join(cacheDir, `${key}.js`);
  try {
    return fs.readFileSync(cached, 'utf8');
  } catch {
    // not cached yet
  }
  ts ??= require(path.join(root, 'node_modules', 'typescript'));
  const js = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
  }).outputText;
  try {
    fs.mkdirSync(cacheDir, { recursive: true });
    fs.writeFileSync(`${cached}.${process.pid}`, js);
    fs.renameSync(`${cached}.${process.pid}`, cached);
  } catch {
    // read-only (a guest): compiled in memory only
  }
  return js;
}

require.extensions['.ts'] = (module, filename) => {
  module._compile(compile(fs.readFileSync(filename, 'utf8'), filename), filename);
};
