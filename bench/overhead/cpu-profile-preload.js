// Loaded into the collector with `node -r` by profile.js: starts the V8
// profiler on SIGUSR2, sent once the probes are attached (the sampling
// signals of --cpu-prof interrupt the BPF verifier, which then refuses the
// program), and writes the profile when the process exits.
'use strict';
const fs = require('node:fs');
const inspector = require('node:inspector');

const session = new inspector.Session();
session.connect();
process.on('SIGUSR2', () => {
  session.post('Profiler.enable', () => session.post('Profiler.start'));
});
process.on('exit', () => {
  session.post('Profiler.stop', (err, r) => {
    if (!err && r) fs.writeFileSync(process.env.PGFERRET_PROFILE_OUT, JSON.stringify(r.profile));
  });
});
