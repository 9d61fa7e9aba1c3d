export { loadConfig, ConfigError, type Config, type ConfigProblem } from './config.ts';
export { VARIABLES, type Variable } from './variables.ts';
