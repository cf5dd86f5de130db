// Child process of embedded-durability.test.ts: runs the embedded collector
// (built code, `npx tsc -b`) until the test kills it with SIGKILL.
'use strict';
const { startEmbedded } = require('../dist/embedded');

startEmbedded({ dataDir: process.argv[2], otlpPort: 0, uiPort: 0, log: () => {} }).then(
  (e) => process.send({ otlpUrl: e.otlpUrl }),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
