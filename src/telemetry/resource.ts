import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { TelemetrySettings } from '../config/index.ts';

/** What every span and metric of one process is tagged with: the service and the process. */
export function processResource(options: {
  settings: TelemetrySettings;
  processType: string;
  version: string;
}): Resource {
  return resourceFromAttributes({
    ...options.settings.resourceAttributes,
    [ATTR_SERVICE_NAME]: options.settings.serviceName,
    [ATTR_SERVICE_VERSION]: options.version,
    // The Procfile's process type: web, worker, clock or admin.
    'process.command': options.processType,
    'process.pid': process.pid,
  });
}
