/**
 * Reads a ruleset file (the `cacheFile`, a `bootstrap` file) no larger than a cap
 * (`cacheFileMaxBytes`). The size is checked before anything is read, on the opened file, so a
 * huge file (a stray log, a disk image written over the path) costs one `fstat`, not seconds of
 * reading and parsing at start-up; a file that grows between that check and the read is refused
 * by the length of what was read.
 */
import { open } from 'node:fs/promises';

export type BoundedRead =
  | { readonly ok: true; readonly text: string; readonly mtime: Date }
  | { readonly ok: false; readonly kind: 'too-big'; readonly bytes: number }
  | { readonly ok: false; readonly kind: 'error'; readonly error: unknown };

/** Never rejects. */
export async function readBoundedFile(path: string, maxBytes: number): Promise<BoundedRead> {
  try {
    const file = await open(path, 'r');
    try {
      const info = await file.stat();
      if (info.size > maxBytes) return { ok: false, kind: 'too-big', bytes: info.size };
      const buffer = await file.readFile();
      if (buffer.length > maxBytes) return { ok: false, kind: 'too-big', bytes: buffer.length };
      return { ok: true, text: buffer.toString('utf8'), mtime: info.mtime };
    } finally {
      await file.close();
    }
  } catch (error) {
    return { ok: false, kind: 'error', error };
  }
}

/** "28,311,552 bytes (27.0 MiB)": exact, and as a reader scans it. */
export function describeBytes(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  const rounded = mib >= 1 ? `${mib.toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes.toLocaleString('en-US')} bytes (${rounded})`;
}
