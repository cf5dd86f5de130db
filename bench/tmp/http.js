const { fork } = require('child_process');
const http = require('http');
const { OTLPExporterBase } = require('@opentelemetry/otlp-exporter-base');
const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = require('@opentelemetry/otlp-exporter-base/node-http');
const { ProtobufTraceSerializer } = require('@opentelemetry/otlp-transformer');
const SIZE = Number(process.argv[2] ?? 106000), N = 300;
const body = Buffer.alloc(SIZE, 7);
async function main() {
  const child = fork('/work/wt/otlp/bench/export/sink-child.js');
  const endpoint = await new Promise((r) => child.once('message', r));
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = endpoint;
  const official = new OTLPExporterBase(createOtlpHttpExportDelegate(convertLegacyHttpOptions({}, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    { serializeRequest: () => Buffer.from(body), deserializeResponse: (d) => ProtobufTraceSerializer.deserializeResponse(d) }, 'x', { name: 'span', countItems: () => 1 }, undefined));
  const agent = new http.Agent({ keepAlive: true });
  const url = new URL(`${endpoint}/v1/traces`);
  const raw = { export: (_x, done) => { const b = Buffer.from(body); const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-protobuf', 'content-length': b.length } }, (res) => { res.resume(); res.on('end', () => done({ code: 0 })); }); req.on('error', (e) => done({ code: 1, error: e })); req.end(b); } };
  for (let r = 0; r < 4; r++) for (const [name, ex] of [['official', official], ['raw', raw]]) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await new Promise((res) => ex.export([], (x) => { if (x.code) console.log(x); res(); }));
    const d = process.cpuUsage(c0);
    console.log(name, SIZE, 'µs/request', ((d.user + d.system) / N).toFixed(0), 'user', (d.user / N).toFixed(0), 'sys', (d.system / N).toFixed(0));
  }
  child.kill();
}
main();
