import { ConfigError, loadConfig } from '../../src/config/index.ts';

/** What loadConfig refuses in `env`, one "VARIABLE message" line per problem; none when it loads. */
export function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError)
      return error.problems.map((p) => `${p.variable} ${p.message}`);
    throw error;
  }
  return [];
}
