// An OpenTelemetry instrumentation (for NodeSDK's `instrumentations` list)
// that applies the same queue hook as instrument(), when `pg` is loaded.
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  InstrumentationNodeModuleFile,
  type InstrumentationConfig,
} from '@opentelemetry/instrumentation';
import { configure, patchClient, unpatchClient, type PgClientClass } from './queue-hook';
import { resolveOptions, type PgFerretOptions } from '../options';

export type PgFerretInstrumentationConfig = InstrumentationConfig & PgFerretOptions;

const NAME = '@pgferret/sdk';
const VERSION: string = (require('../../package.json') as { version: string }).version;
const SUPPORTED = ['>=8.0.3 <9'];

function clientOf(moduleExports: unknown): PgClientClass | undefined {
  const m = moduleExports as { Client?: PgClientClass; default?: { Client?: PgClientClass }; [Symbol.toStringTag]?: string };
  const mod = m[Symbol.toStringTag] === 'Module' && m.default ? m.default : m;
  if (typeof mod === 'function') return mod as unknown as PgClientClass; // pg/lib/client.js exports the class
  return mod.Client;
}

export class PgFerretInstrumentation extends InstrumentationBase<PgFerretInstrumentationConfig> {
  constructor(config: PgFerretInstrumentationConfig = {}) {
    // validates before the base class enables itself
    configure(resolveOptions(config));
    super(NAME, VERSION, config);
  }

  override setConfig(config: PgFerretInstrumentationConfig = {}): void {
    configure(resolveOptions(config));
    super.setConfig(config);
  }

  protected init() {
    const patch = (exports: unknown, version?: string) => {
      const Client = clientOf(exports);
      if (Client) patchClient(Client, version);
      return exports;
    };
    const unpatch = (exports: unknown) => {
      const Client = clientOf(exports);
      if (Client) unpatchClient(Client);
    };
    let pgVersion: string | undefined;
    return new InstrumentationNodeModuleDefinition(
      'pg',
      SUPPORTED,
      (exports: unknown, version?: string) => {
        pgVersion = version;
        return patch(exports, version);
      },
      unpatch,
      [new InstrumentationNodeModuleFile('pg/lib/client.js', SUPPORTED, (exports: unknown) => patch(exports, pgVersion), unpatch)],
    );
  }
}
