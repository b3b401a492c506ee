/**
 * Turning whatever a caller passed as a user context (or a flag name) into the string evaluation
 * works on, without ever throwing. JavaScript callers can pass anything: `String(value)` throws for
 * an object made with `Object.create(null)`, one whose `toString` throws, or a revoked proxy.
 */

/** What `typeof` says of a value. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'bigint' | 'symbol' | 'undefined' | 'object' | 'function';

/** How a value was taken: its text, and whether it was usable at all. */
export interface Converted {
  readonly text: string;
  readonly kind: ValueKind;
  /** False when the value was dropped (then `text` is ''). */
  readonly usable: boolean;
}

/**
 * A string is taken as it is; a number, boolean or bigint becomes its text as `String` gives it
 * (`42` → `"42"`); anything else (undefined, null, an object, array, function, symbol) is no
 * usable value and becomes `''`. Reads no property of the value and calls none of its methods,
 * so it cannot throw.
 */
export function convertToText(value: unknown): Converted {
  switch (typeof value) {
    case 'string':
      return { text: value, kind: 'string', usable: true };
    case 'number':
    case 'boolean':
    case 'bigint':
      return { text: String(value), kind: typeof value, usable: true };
    default:
      return { text: '', kind: typeof value, usable: false };
  }
}
