/**
 * The exact text of each element of a JSON array, so that a flag the admin cannot validate is
 * written back byte for byte as it was read (not re-serialized: number forms, escapes and key order
 * stay). Pure.
 */

/**
 * The source text of each top-level element of `text`, which must hold one JSON array (leading
 * and trailing whitespace allowed). Undefined when it does not.
 */
export function arrayElementTexts(text: string): string[] | undefined {
  let i = skipSpace(text, 0);
  if (text[i] !== '[') return undefined;
  i = skipSpace(text, i + 1);
  const elements: string[] = [];
  if (text[i] === ']') return skipSpace(text, i + 1) === text.length ? elements : undefined;
  for (;;) {
    const start = i;
    let depth = 0;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c === '"') {
        i = endOfString(text, i);
        if (i < 0) return undefined;
      } else if (c === '[' || c === '{') depth++;
      else if (c === ']' || c === '}') {
        if (depth === 0) break;
        depth--;
      } else if (c === ',' && depth === 0) break;
    }
    if (i >= text.length) return undefined;
    const element = text.slice(start, i).trim();
    if (element === '') return undefined;
    elements.push(element);
    if (text[i] === ']') return skipSpace(text, i + 1) === text.length ? elements : undefined;
    i = skipSpace(text, i + 1);
  }
}

/** Index of the closing quote of the string opening at `start`, or -1. */
function endOfString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '"') return i;
  }
  return -1;
}

function skipSpace(text: string, from: number): number {
  let i = from;
  while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  return i;
}
