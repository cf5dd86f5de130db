#!/usr/bin/env node
// The installed command. Kept in git rather than pointing at dist/cli.js so
// that `npm ci` links it before the build has made dist/.
let cli;
try {
  cli = require('../dist/cli.js');
} catch (e) {
  if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes('dist/cli.js')) throw e;
  process.stderr.write('[pgferret] error: pgferret-collector is not built: run `bash scripts/setup.sh` in the pgferret checkout\n');
  process.exit(1);
}
cli.main(process.argv);
