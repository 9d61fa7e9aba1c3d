/** How a variable is declared; the declarations are in variables.ts and variables-background.ts. */
export type VariableType =
  | { kind: 'port' }
  | { kind: 'integer'; min: number; max: number }
  | { kind: 'string' }
  | { kind: 'enum'; values: readonly string[] }
  | { kind: 'boolean' }
  /** `true`, `false`, a hop count, or proxy addresses/CIDRs, as Fastify's `trustProxy`. */
  | { kind: 'trust-proxy' }
  | { kind: 'url'; schemes: readonly string[] };

export interface Variable {
  name: string;
  type: VariableType;
  /** undefined: optional with no default. */
  default: string | undefined;
  /** Whether the value may hold a secret (URLs are logged with passwords redacted). */
  secret?: boolean;
  description: string;
}

export const ms = (min: number, max: number): VariableType => ({ kind: 'integer', min, max });
