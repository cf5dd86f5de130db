// An OpenTelemetry instrumentation (for NodeSDK's `instrumentations` list)
// that applies the same queue hook as instrument(), when `pg` is loaded.
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { configure, patchClient, unpatchClient, PG_RANGE, type PgClientClass } from './queue-hook';
import { patchPgModule, unpatchPgModule, type PgModule } from './patch-module';
import { resolveOptions, type PgFerretOptions } from '../options';
import { attachRequestHook } from '../trace/pg-span';

export type PgFerretInstrumentationConfig = InstrumentationConfig & PgFerretOptions;

const NAME = '@pgferret/sdk';
const VERSION: string = (require('../../package.json') as { version: string }).version;
const SUPPORTED = [PG_RANGE];

function unwrapEsm<T>(moduleExports: unknown): T {
  const m = moduleExports as { default?: T; [Symbol.toStringTag]?: string };
  return (m[Symbol.toStringTag] === 'Module' && m.default ? m.default : m) as T;
}

export class PgFerretInstrumentation extends InstrumentationBase<PgFerretInstrumentationConfig> {
  constructor(config: PgFerretInstrumentationConfig = {}) {
    // validates before the base class enables itself
    configure(resolveOptions(config));
    if (config.pgInstrumentation !== undefined) attachRequestHook(config.pgInstrumentation);
    super(NAME, VERSION, config);
  }

  override setConfig(config: PgFerretInstrumentationConfig = {}): void {
    configure(resolveOptions(config));
    if (config.pgInstrumentation !== undefined) attachRequestHook(config.pgInstrumentation);
    super.setConfig(config);
  }

  protected init() {
    // pg/lib/client.js exports the Client class itself; its patch lands before
    // pg/lib/index.js finishes loading (and gets pg's version too), the
    // module-level one adds Pool
    const clientFile = new InstrumentationNodeModuleFile(
      'pg/lib/client.js',
      SUPPORTED,
      (exports: unknown, version?: string) => {
        patchClient(unwrapEsm<PgClientClass>(exports), version);
        return exports;
      },
      (exports: unknown) => unpatchClient(unwrapEsm<PgClientClass>(exports)),
    );
    return new InstrumentationNodeModuleDefinition(
      'pg',
      SUPPORTED,
      (exports: unknown, version?: string) => {
        patchPgModule(unwrapEsm<PgModule>(exports), version);
        return exports;
      },
      (exports: unknown) => unpatchPgModule(unwrapEsm<PgModule>(exports)),
      [clientFile],
    );
  }
}
