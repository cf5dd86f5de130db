// Loaded into the collector with `node -r` by capture.js: appends every
// ring-buffer batch the pipeline is handed to PGFERRET_CAPTURE_OUT (each as a
// 4-byte little-endian length, then the bytes), for replay.js.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const out = fs.openSync(process.env.PGFERRET_CAPTURE_OUT, 'w');
const { Pipeline } = require(path.join(process.env.PGFERRET_CAPTURE_DIST, 'pipeline', 'pipeline.js'));
const push = Pipeline.prototype.push;
Pipeline.prototype.push = function capture(batch) {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(batch.length);
  fs.writeSync(out, len);
  fs.writeSync(out, batch);
  return push.call(this, batch);
};
