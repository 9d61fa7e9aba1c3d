export {
  loadConfig,
  ConfigError,
  type ApiToken,
  type Config,
  type ConfigProblem,
  type JwtSettings,
  type Scope,
} from './config.ts';
export { VARIABLES, type Variable } from './variables.ts';
