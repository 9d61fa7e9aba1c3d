import { createReadStream } from 'node:fs';
import type { Line } from './import-file.ts';

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);

/** Whether the file holds one JSON array (`mongoexport --jsonArray`) rather than NDJSON. */
export async function isJsonArrayFile(path: string): Promise<boolean> {
  for await (const chunk of createReadStream(path, { encoding: 'utf8', highWaterMark: 4096 })) {
    for (const char of chunk as string) {
      if (!WHITESPACE.has(char)) return char === '[';
    }
  }
  return false;
}

/**
 * The elements of a file holding one JSON array, streamed one at a time and numbered from 1,
 * so a file of any size is never held whole: `mongoexport --jsonArray` writes the collection as
 * a single line. Only the structure is scanned (strings, escapes, nesting); each element's text
 * is parsed by the caller. Text after the array comes out as an element of its own, which fails
 * to parse; a missing `]` (a truncated file) as a record with a problem.
 */
export async function* jsonArrayElements(path: string): AsyncGenerator<Line> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let opened = false;
  let closed = false;
  let inElement = false;
  let parts: string[] = [];
  let number = 0;
  const element = (): Line => {
    const text = parts.join('');
    parts = [];
    inElement = false;
    return { number: ++number, text };
  };
  for await (const data of createReadStream(path, { encoding: 'utf8' })) {
    const chunk = data as string;
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const char = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (char === '\\') escaped = true;
        else if (char === '"') inString = false;
        continue;
      }
      if (depth === 0 && !inElement) {
        if (WHITESPACE.has(char)) continue;
        if (char === '[' && !opened) {
          opened = true;
          depth = 1;
          continue;
        }
      }
      if (depth === 1 && (char === ',' || char === ']')) {
        if (inElement) {
          parts.push(chunk.slice(start, i));
          yield element();
        }
        if (char === ']') {
          depth = 0;
          closed = true;
        }
        continue;
      }
      if (!inElement) {
        if (WHITESPACE.has(char)) continue;
        inElement = true;
        start = i;
      }
      if (char === '"') inString = true;
      else if (depth === 0)
        continue; // text after the array: kept whole, not scanned
      else if (char === '{' || char === '[') depth++;
      else if (char === '}' || char === ']') depth--;
    }
    if (inElement) parts.push(chunk.slice(start));
  }
  if (inElement) yield element();
  if (opened && !closed) {
    yield {
      number: ++number,
      text: '',
      problem: 'the array never ends (no closing "]"): is the file complete?',
    };
  }
}
