// Entry point: `node dist/src/server.js`. Env: DATABASE_URL (or PG*), PORT, HOST,
// and the standard OTEL_* variables.
import { sdk } from './tracing';
import { startApp } from './app';

async function main(): Promise<void> {
  const port = process.env.PORT === undefined ? 3000 : Number(process.env.PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`PORT must be a port number (0-65535), got ${JSON.stringify(process.env.PORT)}`);
  }
  const app = await startApp({ databaseUrl: process.env.DATABASE_URL, port, host: process.env.HOST });
  console.log(`prisma example listening on ${app.url}`);
  const stop = () => {
    app
      .close()
      .then(() => sdk.shutdown()) // flushes the spans not yet exported
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: Error) => {
  console.error(`prisma example: ${e.message}`);
  sdk.shutdown().finally(() => process.exit(1));
});
