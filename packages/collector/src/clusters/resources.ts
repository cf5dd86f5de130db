// The OpenTelemetry resource of a cluster's spans: service, host, data
// directory, postmaster, port, version, container. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES win over these defaults.
import * as os from 'node:os';
import { detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { containerIdOf } from '../discover/container';
import type { Postmaster } from '../discover/postmasters';
import { A } from '../spans/attributes';

export class Resources {
  private readonly env: Resource;
  /** for statements of a postmaster that is no longer listed (it stopped meanwhile) */
  readonly fallback: Resource;

  constructor(private readonly serviceName = 'postgresql') {
    this.env = detectResources({ detectors: [envDetector] });
    this.fallback = resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }).merge(this.env);
  }

  of(pm: Postmaster): Resource {
    const attrs: Record<string, string | number> = {
      [ATTR_SERVICE_NAME]: this.serviceName,
      'host.name': os.hostname(),
      [A.dbSystemName]: 'postgresql',
      'postgresql.cluster.data_directory': pm.dataDir,
      'postgresql.postmaster.pid': pm.pid,
    };
    if (pm.port !== null) attrs['postgresql.cluster.port'] = pm.port;
    if (pm.major !== null) attrs['postgresql.version'] = String(pm.major);
    const container = containerIdOf(pm.pid);
    if (container) attrs['container.id'] = container;
    return resourceFromAttributes(attrs).merge(this.env);
  }
}
