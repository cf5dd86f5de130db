// Where the collector exports in OTLP rounds: an OTLP/HTTP endpoint that
// accepts every request, counts it and throws the body away, standing in for
// a remote OpenTelemetry Collector without spending CPU on decoding.
'use strict';
const http = require('node:http');

function startSink() {
  const stats = { requests: 0, bytes: 0 };
  const server = http.createServer((req, res) => {
    req.on('data', (d) => { stats.bytes += d.length; });
    req.on('end', () => {
      stats.requests++;
      // an empty ExportTraceServiceResponse is an empty body in both encodings
      const json = /json/.test(req.headers['content-type'] || '');
      res.writeHead(200, { 'content-type': json ? 'application/json' : 'application/x-protobuf' });
      res.end(json ? '{}' : '');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        endpoint: `http://127.0.0.1:${server.address().port}`,
        stats,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}

module.exports = { startSink };
