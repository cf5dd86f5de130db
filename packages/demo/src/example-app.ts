// Runs examples/express (built by `npm run build`) as a child process, with
// its OpenTelemetry SDK pointed at the demo's embedded OTLP receiver. A child
// rather than in-process: NodeSDK patches modules and registers globals that
// the collector's own process should not carry.
import fs from 'node:fs';
import path from 'node:path';
import { spawnTied, type Tied } from './child';

export interface ExampleApp {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The example's workspace package (a dependency of this one), not a path into the checkout. */
const EXAMPLE_DIR = path.dirname(require.resolve('pgferret-example-express/package.json'));
export const EXAMPLE_SERVER = path.join(EXAMPLE_DIR, 'dist', 'server.js');

/** OTEL_* variables of the demo's own environment that would send the app's spans elsewhere. */
const OVERRIDDEN = /^OTEL_(EXPORTER_OTLP_|TRACES_EXPORTER|SDK_DISABLED)/;

export async function startExampleApp(databaseUrl: string, otlpUrl: string, timeoutMs = 30_000): Promise<ExampleApp> {
  if (!fs.existsSync(EXAMPLE_SERVER)) {
    throw new Error(
      `the Express example is not built (${EXAMPLE_SERVER} is missing): run \`npm run build\` in the pgferret checkout (\`npm run demo\` does it for you)`,
    );
  }
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!OVERRIDDEN.test(k)) env[k] = v;
  Object.assign(env, {
    DATABASE_URL: databaseUrl,
    PORT: '0',
    HOST: '127.0.0.1',
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    // export each request's spans promptly (default: every 5 s)
    OTEL_BSP_SCHEDULE_DELAY: '200',
  });
  const app: Tied = spawnTied('TERM', process.execPath, [EXAMPLE_SERVER], { env, cwd: EXAMPLE_DIR });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the Express example did not start within ${timeoutMs / 1000} s:\n${app.output()}`)), timeoutMs);
    const onData = () => {
      const m = /listening on (http:\/\/\S+)/.exec(app.output());
      if (m) {
        clearTimeout(timer);
        app.child.stdout!.off('data', onData);
        resolve(m[1]);
      }
    };
    app.child.stdout!.on('data', onData);
    app.exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the Express example exited while starting:\n${app.output()}`));
    });
  }).catch(async (e) => {
    await app.stop('SIGKILL', 0);
    throw e;
  });
  return {
    url,
    pid: app.child.pid!,
    // SIGTERM: the app closes its server and flushes its last spans
    stop: () => app.stop('SIGTERM', 5_000),
  };
}
