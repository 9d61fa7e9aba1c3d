import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import type { FieldError } from '../users/errors.ts';
import { emailKey } from '../users/user.ts';
import type { NewUser } from '../users/user-store.ts';
import { FingerprintSet, fingerprint } from './fingerprints.ts';
import { isJsonArrayFile, jsonArrayElements } from './json-array.ts';
import { createLineParser } from './user-lines.ts';

export interface Line {
  /** 1-based: the line of an NDJSON file (blank ones counted), the element of an array file. */
  number: number;
  text: string;
  /** What is wrong with the file at this point, beyond its text (an array never closed). */
  problem?: string;
}

/** How records are laid out: one a line (NDJSON, mongoexport's default) or one JSON array. */
export type InputForm = 'lines' | 'array';

/** What a record is called in messages, by form: a line number or an array position. */
export const recordWord = (form: InputForm) => (form === 'array' ? 'record' : 'line');

export async function inputFormOf(path: string): Promise<InputForm> {
  return (await isJsonArrayFile(path)) ? 'array' : 'lines';
}

/** The file's non-blank lines, streamed. */
async function* linesOf(path: string): AsyncGenerator<Line> {
  const reader = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let number = 0;
  for await (const text of reader) {
    number++;
    if (text.trim() !== '') yield { number, text };
  }
}

/** The file's records, streamed, in the given form. */
export function recordsOf(path: string, form: InputForm): AsyncGenerator<Line> {
  return form === 'array' ? jsonArrayElements(path) : linesOf(path);
}

/**
 * Standard input copied to a private temporary file, because an import reads its input twice
 * (check, then write) and a pipe can be read once. `remove` deletes it.
 */
export async function spool(
  input: NodeJS.ReadableStream,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), '12f-import-'));
  const path = join(dir, 'stdin.ndjson');
  const remove = () => rm(dir, { recursive: true, force: true });
  try {
    await pipeline(input, createWriteStream(path, { mode: 0o600 }));
  } catch (error) {
    await remove();
    throw error;
  }
  return { path, remove };
}

export interface BadLine {
  line: number;
  errors: FieldError[];
}

export interface CheckResult {
  /** Valid records. */
  records: number;
  /** How many lines are bad in all. */
  badCount: number;
  /** The first `maxReported` bad lines, in file order. */
  bad: BadLine[];
  /** Attributes of MongoDB documents that no user keeps, with how many records had each. */
  dropped: ReadonlyMap<string, number>;
}

type Key = 'id' | 'email';
const keysOf = (user: NewUser): [Key, string][] =>
  user.email === undefined
    ? [['id', user.id]]
    : [
        ['id', user.id],
        ['email', emailKey(user.email)],
      ];

/** Second pass, only when fingerprints collided: which lines really repeat an id or address. */
async function confirmDuplicates(
  path: string,
  form: InputForm,
  suspects: Set<number>,
): Promise<BadLine[]> {
  const parse = createLineParser();
  const first = new Map<string, number>();
  const duplicates: BadLine[] = [];
  for await (const { number, text } of recordsOf(path, form)) {
    const parsed = parse(text);
    if (!('user' in parsed)) continue;
    const errors: FieldError[] = [];
    for (const [field, value] of keysOf(parsed.user)) {
      if (!suspects.has(fingerprint(`${field}:${value}`))) continue;
      const seen = first.get(`${field}:${value}`);
      if (seen === undefined) first.set(`${field}:${value}`, number);
      else errors.push({ field, message: `repeats line ${seen}` });
    }
    if (errors.length > 0) duplicates.push({ line: number, errors });
  }
  return duplicates;
}

/**
 * Validates every record of an export before anything is written: each record against the
 * API's schemas, and no id or address (compared as the store compares them) twice in the file.
 * Memory stays flat: duplicates are found through fingerprints, confirmed by a second pass.
 */
export async function checkFile(
  path: string,
  options: { form: InputForm; maxReported: number; onLine?: () => void },
): Promise<CheckResult> {
  const parse = createLineParser();
  const seen = new FingerprintSet();
  const suspects = new Set<number>();
  const bad: BadLine[] = [];
  const dropped = new Map<string, number>();
  let records = 0;
  let invalid = 0;
  for await (const { number, text, problem } of recordsOf(path, options.form)) {
    options.onLine?.();
    const parsed = problem ? { errors: [{ field: 'file', message: problem }] } : parse(text);
    if (!('user' in parsed)) {
      invalid++;
      if (bad.length < options.maxReported) bad.push({ line: number, errors: parsed.errors });
      continue;
    }
    records++;
    for (const name of parsed.dropped ?? []) dropped.set(name, (dropped.get(name) ?? 0) + 1);
    for (const [field, value] of keysOf(parsed.user)) {
      const print = fingerprint(`${field}:${value}`);
      if (!seen.add(print)) suspects.add(print);
    }
  }
  const duplicates = suspects.size > 0 ? await confirmDuplicates(path, options.form, suspects) : [];
  const all = [...bad, ...duplicates].sort((a, b) => a.line - b.line);
  return {
    records: records - duplicates.length,
    badCount: invalid + duplicates.length,
    bad: all.slice(0, options.maxReported),
    dropped,
  };
}
