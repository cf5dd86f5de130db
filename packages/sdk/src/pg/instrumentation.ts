// An OpenTelemetry instrumentation (for NodeSDK's `instrumentations` list)
// that applies the same query hook as instrument(), when `pg` is loaded, with
// its own settings.
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { PG_RANGE, type PgClientClass } from './query-hook';
import { PgPatcher, type PgModule } from './patch-module';
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

// the base constructor enables (and so patches) before a subclass field exists
const patchers = new WeakMap<PgFerretInstrumentation, PgPatcher>();

function patcherOf(instrumentation: PgFerretInstrumentation): PgPatcher {
  let patcher = patchers.get(instrumentation);
  if (!patcher) patchers.set(instrumentation, (patcher = new PgPatcher()));
  return patcher;
}

export class PgFerretInstrumentation extends InstrumentationBase<PgFerretInstrumentationConfig> {
  constructor(config: PgFerretInstrumentationConfig = {}) {
    // validates before the base class enables itself
    const settings = resolveOptions(config);
    if (config.pgInstrumentation !== undefined) attachRequestHook(config.pgInstrumentation);
    super(NAME, VERSION, config);
    patcherOf(this).settings = settings;
  }

  override setConfig(config: PgFerretInstrumentationConfig = {}): void {
    const settings = resolveOptions(config);
    if (config.pgInstrumentation !== undefined) attachRequestHook(config.pgInstrumentation);
    super.setConfig(config);
    patcherOf(this).settings = settings;
  }

  protected init() {
    // pg/lib/client.js exports the Client class itself; its patch lands before
    // pg/lib/index.js finishes loading (and gets pg's version too), the
    // module-level one adds Pool
    const clientFile = new InstrumentationNodeModuleFile(
      'pg/lib/client.js',
      SUPPORTED,
      (exports: unknown, version?: string) => {
        patcherOf(this).patchClient(unwrapEsm<PgClientClass>(exports), version);
        return exports;
      },
      (exports: unknown) => patcherOf(this).unpatchClient(unwrapEsm<PgClientClass>(exports)),
    );
    return new InstrumentationNodeModuleDefinition(
      'pg',
      SUPPORTED,
      (exports: unknown, version?: string) => {
        patcherOf(this).patchModule(unwrapEsm<PgModule>(exports), version);
        return exports;
      },
      (exports: unknown) => patcherOf(this).unpatchModule(unwrapEsm<PgModule>(exports)),
      [clientFile],
    );
  }
}
