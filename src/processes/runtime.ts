import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, ConfigError, type Config } from '../config/index.ts';
import { PACKAGE_ROOT } from '../config/package-root.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { Release } from '../http/routes/operations.ts';
import { TRACE_LOG_FIELDS } from '../telemetry/context.ts';
import { startTracing, type Tracing } from '../telemetry/tracing.ts';

/**
 * What every process type starts with: the config (or a clear exit 1 naming every bad
 * variable), a logger on stdout, and the release this build is.
 */
export function startProcess(name: string): { config: Config; logger: Logger; release: Release } {
  const pretty = process.stdout.isTTY === true && !process.env.NO_COLOR;
  let config: Config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const logger = createLogger({ level: 'info', pretty });
    // pino writes a fatal line out at once (a synchronous flush), so the exit can follow.
    logger.fatal({ process: name, problems: error.problems }, error.message);
    process.exit(1);
  }
  const logger = createLogger({
    level: config.logLevel,
    pretty,
    ...(config.telemetry.enabled && TRACE_LOG_FIELDS),
  }).child({ process: name });
  return { config, logger, release: readRelease(config) };
}

export function readRelease(config: Pick<Config, 'gitCommit' | 'buildTime'>): Release {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  return {
    name: pkg.name,
    version: pkg.version,
    commit: config.gitCommit,
    buildTime: config.buildTime,
  };
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * How long a shutdown waits for the last spans to reach the collector: a quarter of the budget,
 * at most 2 s, so a down or hung collector never makes the shutdown overrun.
 */
export const traceFlushMs = (config: Pick<Config, 'shutdownTimeoutMs'>) =>
  Math.min(2000, config.shutdownTimeoutMs / 4);

/** Tracing for one process type, on when the config sets an OTLP endpoint. */
export function traceProcess(name: string, config: Config, release: Release): Promise<Tracing> {
  return startTracing({ settings: config.telemetry, processType: name, version: release.version });
}
