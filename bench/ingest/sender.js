// Worker thread: POSTs OTLP protobuf batches to the receiver from several
// concurrent keep-alive connections and counts the spans acknowledged with 200.
// Batches come from one template made by the official OTel serializer; only
// the trace ids are rewritten per batch so every span is new to the store.
'use strict';
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');

const { url, concurrency, durationMs, template, traceIdOffsets, spansPerBatch, contentType, workerIndex } = workerData;
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
let batchNo = 0;

function nextBody() {
  const body = Buffer.from(template);
  const n = ++batchNo;
  // Bytes 0-3 of every trace id: worker and batch number (hex in JSON bodies, raw in protobuf).
  for (const { offset, hex } of traceIdOffsets) {
    if (hex) body.write(((workerIndex << 24) | n).toString(16).padStart(8, '0'), offset, 'latin1');
    else body.writeUInt32BE(((workerIndex << 24) | n) >>> 0, offset);
  }
  return body;
}

function post(body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: '/v1/traces',
        method: 'POST',
        agent,
        headers: { 'content-type': contentType, 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function loop(deadline, stats) {
  while (Date.now() < deadline) {
    const t0 = process.hrtime.bigint();
    const status = await post(nextBody());
    stats.latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (status === 200) stats.spans += spansPerBatch;
    else stats.failed++;
  }
}

(async () => {
  const stats = { spans: 0, failed: 0, latencies: [] };
  const start = Date.now();
  const deadline = start + durationMs;
  await Promise.all(Array.from({ length: concurrency }, () => loop(deadline, stats)));
  const elapsed = Date.now() - start;
  agent.destroy();
  parentPort.postMessage({ ...stats, elapsedMs: elapsed });
})();
