// Generates the Prisma 7 client for test/prisma/schema.prisma offline and
// turns its TypeScript into CommonJS JavaScript (jest cannot run the dynamic
// import() calls the generator emits for the WASM query compiler).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../../../..');
const OUT = path.resolve(__dirname, '../.generated/prisma');

export function generatePrismaClient(): string {
  // the generator refuses a directory holding our transpiled output
  fs.rmSync(OUT, { recursive: true, force: true });
  execFileSync('npx', ['prisma', 'generate', '--schema', path.resolve(__dirname, '../prisma/schema.prisma')], {
    cwd: ROOT,
    // `generate` never runs the schema engine but wants its path to exist
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: '1' },
    stdio: 'pipe',
  });
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
  for (const file of walk(OUT).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))) {
    const { outputText } = ts.transpileModule(fs.readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    });
    fs.writeFileSync(file.replace(/\.ts$/, '.js'), outputText);
    fs.rmSync(file);
  }
  return path.join(OUT, 'client.js');
}
