/**
 * Evaluation contexts (docs/targeting.md): a string (the key, as Tailslide has it) or an object with
 * a `key` and attributes. Reading one never throws, whatever the caller passes: a getter that throws,
 * a proxy or a value of the wrong type reads as a missing attribute.
 */

/** An attribute value a clause can compare: a JSON scalar, or an array of them. */
export type AttributeValue = string | number | boolean | null | readonly (string | number | boolean | null)[];

/** A context with attributes. `key` identifies it (rollout, whitelist, targets, splits). */
export interface ContextAttributes {
  readonly key?: string;
  readonly [attribute: string]: AttributeValue | undefined;
}

/** What the SDK evaluates for: a key, or a key with attributes. */
export type EvaluationContext = string | ContextAttributes;

/** The key of a context; '' when there is none (the empty user context of docs/rollout.md). */
export function contextKey(context: EvaluationContext): string {
  if (typeof context === 'string') return context;
  const key = readProperty(context, 'key');
  return typeof key === 'string' ? key : '';
}

/**
 * The value of one attribute, or undefined when it is missing or not an attribute value. The name
 * `key` reads the key; a string context has only its key.
 */
export function contextAttribute(context: EvaluationContext, name: string): AttributeValue | undefined {
  if (typeof context === 'string') return name === 'key' && context !== '' ? context : undefined;
  const value = readProperty(context, name);
  if (name === 'key') return typeof value === 'string' && value !== '' ? value : undefined;
  if (isScalar(value)) return value;
  if (Array.isArray(value)) return value.every(isScalar) ? value : undefined;
  return undefined;
}

function isScalar(value: unknown): value is string | number | boolean | null {
  return (
    value === null ||
    typeof value === 'string' ||
    typeof value === 'boolean' ||
    (typeof value === 'number' && Number.isFinite(value))
  );
}

/** An own property, read safely: never the prototype's, never an exception. */
function readProperty(object: object, name: string): unknown {
  try {
    return Object.prototype.hasOwnProperty.call(object, name) ? (object as Record<string, unknown>)[name] : undefined;
  } catch {
    return undefined;
  }
}
