import { validationFailed } from '../users/errors.ts';

/**
 * Most attributes one request may carry, query string and body each. A user has a handful; the
 * bound lets validation stop at once on a body of a hundred thousand keys, instead of making one
 * error per key and spending the event loop on it.
 */
export const MAX_ATTRIBUTES = 32;

/** Throws VALIDATION_FAILED when `value` holds more than MAX_ATTRIBUTES own keys; O(bound). */
export function checkAttributeCount(value: object | undefined, field: string): void {
  if (value === undefined) return;
  let count = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (++count > MAX_ATTRIBUTES) {
      throw validationFailed([
        { field, message: `has more than ${MAX_ATTRIBUTES} attributes; a user has far fewer` },
      ]);
    }
  }
}
