// The live OTLP/HTTP endpoint of the export arms, in its own process so its
// CPU is not counted as the exporter's. Sends its endpoint to the parent.
'use strict';
const { startSink } = require('../overhead/sink');

startSink().then((s) => process.send(s.endpoint));
process.on('disconnect', () => process.exit(0));
