export {
  loadConfig,
  ConfigError,
  type ApiToken,
  type Config,
  type ConfigProblem,
  type JwtSettings,
  type Scope,
  type StoreSettings,
} from './config.ts';
export type { ClockSettings, WebhookSettings, WorkerSettings } from './background.ts';
export type { TelemetrySettings } from './telemetry.ts';
export { VARIABLES, type Variable } from './variables.ts';
export type { TrustProxy } from './trust-proxy.ts';
export { startRefusals, isEmbeddedStore, type StartRefusal } from './start-policy.ts';
