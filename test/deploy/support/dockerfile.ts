import { readFileSync } from 'node:fs';

/**
 * A Dockerfile read the way the builder reads it, for the instructions this repository uses:
 * continuation lines joined, comments dropped, stages split at FROM, `${VAR}` substitution.
 * https://docs.docker.com/reference/dockerfile/
 */
export interface Instruction {
  keyword: string;
  /** The text after the keyword, continuations joined with a space. */
  args: string;
  line: number;
}

export interface Stage {
  /** `FROM image AS name`: the name, or the index as a string. */
  name: string;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARG instructions before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  let pending: { parts: string[]; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending ??= { parts: [], line: index + 1 };
    pending.parts.push(part);
    if (continued) return;
    const joined = pending.parts.join(' ');
    const space = joined.search(/\s/);
    instructions.push({
      keyword: (space === -1 ? joined : joined.slice(0, space)).toUpperCase(),
      args: space === -1 ? '' : joined.slice(space + 1).trim(),
      line: pending.line,
    });
    pending = undefined;
  });

  const result: Dockerfile = { globalArgs: [], stages: [] };
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`line ${instruction.line}: cannot read FROM`);
      result.stages.push({
        name: match[2] ?? String(result.stages.length),
        from: match[1]!,
        instructions: [],
      });
    } else if (result.stages.length === 0) {
      if (instruction.keyword !== 'ARG') {
        throw new Error(`line ${instruction.line}: ${instruction.keyword} before FROM`);
      }
      result.globalArgs.push(instruction);
    } else {
      result.stages.at(-1)!.instructions.push(instruction);
    }
  }
  return result;
}

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** `${VAR}`, `${VAR:-default}`, `${VAR:+alt}` and `$VAR`, as the builder expands them. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_match, braced: string | undefined, op: string | undefined, word: string, bare: string) => {
      const value = vars[braced ?? bare];
      if (op === '-') return value ? value : word;
      if (op === '+') return value ? word : '';
      return value ?? '';
    },
  );
}

/** Words of a shell-like line: whitespace-separated, double or single quotes kept together. */
export function splitWords(text: string): string[] {
  const words: string[] = [];
  const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const match of text.matchAll(pattern)) {
    words.push(match[1]?.replace(/\\(.)/g, '$1') ?? match[2] ?? match[3]!);
  }
  return words;
}

/**
 * `KEY=value KEY2="two words"` (ENV, LABEL, ARG with defaults), or the legacy `ENV KEY value`.
 * Values are substituted with `vars` first.
 */
export function parsePairs(args: string, vars: Record<string, string>): Record<string, string> {
  const pairs: Record<string, string> = {};
  const pattern = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  if (!/^[^\s=]+=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    pairs[key!] = substitute(rest.join(' '), vars);
    return pairs;
  }
  for (const match of args.matchAll(pattern)) {
    let value = match[2]!;
    if (value.startsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (value.startsWith("'")) value = value.slice(1, -1);
    pairs[match[1]!] = substitute(value, vars);
  }
  return pairs;
}

/** An exec-form (`["node", "x.js"]`) argument list; undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item === 'string')) {
    throw new Error(`not an exec form: ${args}`);
  }
  return parsed as string[];
}

/** Leading `--name=value` flags of COPY, RUN or FROM, and the rest. */
export function splitFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const match = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!match) return { flags, rest };
    flags[match[1]!] = match[2] ?? 'true';
    rest = rest.slice(match[0].length);
  }
}

/** The stage's instructions of one keyword. */
export const instructionsOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((instruction) => instruction.keyword === keyword);
