import { FIELDS, isPrintable, isUserId, type Field } from './user.ts';
import { queryTooComplex, validationFailed, type FieldError } from './errors.ts';
import { COMPARE_OPS, MATCH_OPS, NOT_OPS, QUERY_BUDGET, WHERE_OPERATORS } from './query-grammar.ts';

import {
  LIMIT_DEFAULT,
  LIMIT_MAX,
  LIMIT_MIN,
  LIST_PARAMS,
  SKIP_MAX,
  type Condition,
  type ListQuery,
  type SortKey,
} from './list-query.ts';

export { QUERY_BUDGET, WHERE_OPERATORS };

function isField(name: string): name is Field {
  return Object.hasOwn(FIELDS, name);
}

/** Thrown at the first budget overrun, so parsing work stops there too. */
class OverBudget extends Error {}

class Parser {
  readonly errors: FieldError[] = [];
  private terms = 0;
  private listValues = 0;
  private matchTerms = 0;
  private patternChars = 0;

  fail(field: string, message: string): undefined {
    this.errors.push({ field, message });
    return undefined;
  }

  /** Charges `amount` to one budget line; past its limit the whole query is refused. */
  private spend(
    line: 'terms' | 'listValues' | 'matchTerms' | 'patternChars',
    amount: number,
    path: string,
    what: string,
  ): void {
    this[line] += amount;
    const limit = QUERY_BUDGET[line];
    if (this[line] > limit) this.overBudget(path, `has more than ${limit} ${what}`);
  }

  /** Refuses the whole query: its one error names the limit, and parsing stops here. */
  private overBudget(path: string, message: string): never {
    this.errors.length = 0;
    this.fail(path, `${message} (the query budget's limit)`);
    throw new OverBudget();
  }

  /** A value for `field`, checked and normalized so every store compares the same thing. */
  value(field: Field, raw: unknown, path: string): string | null | undefined {
    if (raw === null) return field === 'email' ? null : this.fail(path, 'cannot be null');
    if (typeof raw !== 'string') return this.fail(path, 'must be a string');
    if (!isPrintable(raw)) return this.fail(path, 'must not contain control characters');
    const kind = FIELDS[field];
    if (kind === 'id' && !isUserId(raw)) return this.fail(path, 'must be 24 lowercase hex digits');
    if (kind === 'date') {
      const time = Date.parse(raw);
      if (Number.isNaN(time)) return this.fail(path, 'must be an ISO-8601 date-time');
      return new Date(time).toISOString();
    }
    return raw;
  }

  criteria(raw: unknown, path: string, depth: number): Condition | undefined {
    if (depth > QUERY_BUDGET.depth) {
      this.overBudget(path, `nests deeper than ${QUERY_BUDGET.depth} levels`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      return this.fail(path, 'must be an object');
    }
    const conditions: Condition[] = [];
    for (const [key, value] of Object.entries(raw)) {
      const at = `${path}.${key}`;
      this.spend('terms', 1, 'where', 'terms');
      if (key === 'or' || key === 'and') {
        if (!Array.isArray(value) || value.length === 0) {
          this.fail(at, 'must be a non-empty array of criteria');
          continue;
        }
        // Members count even when empty (`{}`): each still becomes SQL the store must run.
        this.spend('terms', value.length, 'where', 'terms');
        const parts = value.map((item, i) => this.criteria(item, `${at}[${i}]`, depth + 1));
        if (parts.every((p) => p !== undefined)) conditions.push({ kind: key, conditions: parts });
      } else if (isField(key)) {
        const condition = this.fieldCriteria(key, value, at);
        if (condition) conditions.push(condition);
      } else if (key.startsWith('$')) {
        this.fail(at, 'is not a supported operator');
      } else {
        this.fail(at, 'is not a known attribute');
      }
    }
    if (this.errors.length > 0) return undefined;
    if (conditions.length === 1) return conditions[0];
    return { kind: 'and', conditions };
  }

  private fieldCriteria(field: Field, raw: unknown, path: string): Condition | undefined {
    if (Array.isArray(raw)) return this.inList(field, raw, path, false);
    if (typeof raw !== 'object' || raw === null) {
      const value = this.value(field, raw, path);
      return value === undefined ? undefined : { kind: 'compare', field, op: 'eq', value };
    }
    const entries = Object.entries(raw);
    if (entries.length === 0) return this.fail(path, 'must name at least one operator');
    const conditions: Condition[] = [];
    for (const [op, operand] of entries) {
      const at = `${path}.${op}`;
      this.spend('terms', 1, 'where', 'terms');
      const condition = this.operator(field, op, operand, at);
      if (condition) conditions.push(condition);
    }
    if (conditions.length !== entries.length) return undefined;
    return conditions.length === 1 ? conditions[0] : { kind: 'and', conditions };
  }

  private operator(field: Field, op: string, operand: unknown, at: string): Condition | undefined {
    const compare = COMPARE_OPS.get(op);
    if (compare) {
      const value = this.value(field, operand, at);
      if (value === null) return this.fail(at, 'cannot be null');
      return value === undefined ? undefined : { kind: 'compare', field, op: compare, value };
    }
    if (NOT_OPS.has(op)) {
      if (Array.isArray(operand)) return this.inList(field, operand, at, true);
      const value = this.value(field, operand, at);
      return value === undefined ? undefined : { kind: 'compare', field, op: 'ne', value };
    }
    if (op === 'in') {
      if (!Array.isArray(operand)) return this.fail(at, 'must be an array');
      return this.inList(field, operand, at, false);
    }
    const mode = MATCH_OPS.get(op);
    if (mode) {
      if (FIELDS[field] !== 'string') return this.fail(at, `applies to text attributes only`);
      if (typeof operand !== 'string') return this.fail(at, 'must be a string');
      if (!isPrintable(operand)) return this.fail(at, 'must not contain control characters');
      this.spend('matchTerms', 1, 'where', 'text-matching terms');
      this.spend('patternChars', operand.length, 'where', 'characters of text patterns');
      return { kind: 'match', field, mode, value: operand };
    }
    return this.fail(at, `is not a supported operator (use one of ${WHERE_OPERATORS.join(', ')})`);
  }

  private inList(field: Field, raw: unknown[], path: string, negate: boolean) {
    this.spend('listValues', raw.length, 'where', 'list values');
    const values: string[] = [];
    for (const [i, item] of raw.entries()) {
      const value = this.value(field, item, `${path}[${i}]`);
      if (value === null) this.fail(`${path}[${i}]`, 'cannot be null');
      else if (value !== undefined) values.push(value);
    }
    if (values.length !== raw.length) return undefined;
    return { kind: 'in' as const, field, values, negate };
  }

  sort(raw: string, path: string): SortKey[] | undefined {
    const keys: SortKey[] = [];
    let parsed: unknown;
    if (raw.trim().startsWith('{')) {
      try {
        parsed = JSON.parse(raw);
      } catch {
        return this.fail(path, 'is not valid JSON');
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        return this.fail(path, 'must be an object of attribute: 1 | -1');
      }
      this.sortBudget(Object.keys(parsed).length, path);
      for (const [field, dir] of Object.entries(parsed)) {
        const direction =
          dir === 1 || dir === 'asc' || dir === 'ASC'
            ? 'asc'
            : dir === -1 || dir === 'desc' || dir === 'DESC'
              ? 'desc'
              : undefined;
        if (!isField(field)) this.fail(`${path}.${field}`, 'is not a known attribute');
        else if (!direction) this.fail(`${path}.${field}`, 'must be 1, -1, "asc" or "desc"');
        else keys.push({ field, direction });
      }
    } else {
      const parts = raw.split(',');
      this.sortBudget(parts.length, path);
      for (const part of parts) {
        const match = /^\s*([A-Za-z]+)(?:\s+(asc|desc))?\s*$/i.exec(part);
        const field = match?.[1];
        if (!match || field === undefined)
          this.fail(path, `cannot read ${JSON.stringify(part.trim())}; use "name DESC"`);
        else if (!isField(field))
          this.fail(path, `${JSON.stringify(field)} is not a known attribute`);
        else keys.push({ field, direction: match[2]?.toLowerCase() === 'desc' ? 'desc' : 'asc' });
      }
    }
    if (keys.length === 0 && this.errors.length === 0) this.fail(path, 'names no attribute');
    return keys;
  }

  private sortBudget(keys: number, path: string): void {
    if (keys > QUERY_BUDGET.sortKeys) {
      this.overBudget(path, `has more than ${QUERY_BUDGET.sortKeys} keys`);
    }
  }

  integer(raw: string, path: string, min: number, max: number): number | undefined {
    const range = `must be an integer from ${min} to ${max}`;
    if (!/^\d{1,10}$/.test(raw)) return this.fail(path, range);
    const value = Number(raw);
    if (value < min || value > max) return this.fail(path, range);
    return value;
  }
}

/**
 * Reads Sails-style list parameters (all strings, as they come in a query string). Throws a
 * VALIDATION_FAILED error naming every bad parameter, or QUERY_TOO_COMPLEX naming the first
 * limit of QUERY_BUDGET the query goes past.
 */
export function parseListQuery(params: Record<string, string | undefined>): ListQuery {
  const parser = new Parser();
  try {
    return parseWith(parser, params);
  } catch (error) {
    if (error instanceof OverBudget) throw queryTooComplex(parser.errors);
    throw error;
  }
}

function parseWith(parser: Parser, params: Record<string, string | undefined>): ListQuery {
  const conditions: Condition[] = [];
  const at = (name: string) => params[name];

  const where = at('where');
  if (where !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(where);
    } catch {
      parser.fail('where', 'is not valid JSON');
    }
    if (parser.errors.length === 0) {
      const condition = parser.criteria(raw, 'where', 0);
      // `{}` is no filter at all, not a condition every store must evaluate per row.
      const empty = condition?.kind === 'and' && condition.conditions.length === 0;
      if (condition && !empty) conditions.push(condition);
    }
  }
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || (LIST_PARAMS as readonly string[]).includes(name)) continue;
    if (!isField(name)) {
      parser.fail(name, 'is not a known attribute');
      continue;
    }
    const checked = parser.value(name, value, name);
    if (checked !== undefined)
      conditions.push({ kind: 'compare', field: name, op: 'eq', value: checked });
  }

  const sortParam = at('sort');
  const sort = sortParam === undefined ? [] : (parser.sort(sortParam, 'sort') ?? []);
  const limitParam = at('limit');
  const skipParam = at('skip');
  const limit =
    limitParam === undefined
      ? LIMIT_DEFAULT
      : parser.integer(limitParam, 'limit', LIMIT_MIN, LIMIT_MAX);
  const skip = skipParam === undefined ? 0 : parser.integer(skipParam, 'skip', 0, SKIP_MAX);

  if (parser.errors.length > 0) throw validationFailed(parser.errors);
  const deduped = sort.filter((key, i) => sort.findIndex((k) => k.field === key.field) === i);
  if (!deduped.some((key) => key.field === 'id')) deduped.push({ field: 'id', direction: 'asc' });
  return {
    where:
      conditions.length === 0
        ? undefined
        : conditions.length === 1
          ? conditions[0]
          : { kind: 'and', conditions },
    sort: deduped,
    limit: limit ?? LIMIT_DEFAULT,
    skip: skip ?? 0,
  };
}
