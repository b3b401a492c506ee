/**
 * The `cacheFile`: the last good ruleset, in the wire format (a JSON array, so the file also
 * serves as a `bootstrap` file), written atomically on every update and read at start when the
 * stream is out of reach. A missing, corrupt or foreign file is reported and ignored.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TailslideError } from '../errors';
import type { Logger } from '../logger';
import { fsErrorMessage } from './bootstrap';
import { describeBytes, readBoundedFile } from './read-bounded';
import { parseRulesetPayload, toWire } from '../ruleset/parse';
import type { Flag } from '../ruleset/types';

/** disconnect() waits at most this long for a cache write in flight. */
const CLOSE_TIMEOUT_MS = 2_000;

export type CacheRead =
  | { readonly kind: 'loaded'; readonly flags: readonly Flag[]; readonly writtenAt: Date }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly error: TailslideError };

/**
 * Reads and validates the cache file; one larger than `maxBytes` (`cacheFileMaxBytes`) is refused
 * before it is read. Never rejects.
 */
export async function readCacheFile(path: string, appId: number, maxBytes: number): Promise<CacheRead> {
  const read = await readBoundedFile(path, maxBytes);
  if (!read.ok && read.kind === 'too-big') {
    return {
      kind: 'invalid',
      error: new TailslideError(
        'CACHE_FILE',
        `ignoring the cache file ${path}: it is ${describeBytes(read.bytes)}, over the size cap ` +
          `cacheFileMaxBytes = ${describeBytes(maxBytes)}; nothing of it was read`,
      ),
    };
  }
  if (!read.ok) {
    if ((read.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', error: cacheError(`could not read the cache file ${path}`, read.error) };
  }
  const { text, mtime: writtenAt } = read;
  const result = parseRulesetPayload(text, `cache file ${path}`, { appId });
  if (!result.ok) {
    return {
      kind: 'invalid',
      error: new TailslideError('CACHE_FILE', `ignoring the cache file: ${result.error.message}`, {
        cause: result.error,
      }),
    };
  }
  return { kind: 'loaded', flags: result.flags, writtenAt };
}

/**
 * Writes rulesets to the cache file, one write at a time; a ruleset that arrives while one is
 * being written replaces any other waiting (only the newest matters). Each write goes to a temp
 * file in the same directory, is synced, then renamed over the cache file, so a reader (or a
 * crash) sees the old file or the new one, never half of one.
 */
export class CacheFileWriter {
  private next: string | undefined;
  private writing: Promise<void> | undefined;
  private lastFailure: string | undefined;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly logger: Logger,
    /** Called with each new kind of failure (a failure repeating the last one is logged at debug). */
    private readonly report: (error: TailslideError) => void,
  ) {}

  /** Queues the ruleset for writing. Never throws. */
  write(flags: readonly Flag[]): void {
    if (this.closed) return;
    this.next = `${JSON.stringify(flags.map(toWire), null, 2)}\n`;
    this.writing ??= this.drain();
  }

  /** Waits (bounded) for the write in flight, and writes no more. Never rejects. */
  async close(): Promise<void> {
    this.closed = true;
    const writing = this.writing;
    if (writing === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
    });
    try {
      await Promise.race([writing, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    try {
      for (let text = this.next; text !== undefined; text = this.next) {
        this.next = undefined;
        await this.writeOnce(text);
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeOnce(text: string): Promise<void> {
    const temp = join(
      dirname(this.path),
      `.${basename(this.path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      // Owner-only: whitelists name users. (The umask can only take permissions away.)
      const file = await open(temp, 'w', 0o600);
      try {
        await file.writeFile(text, 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temp, this.path);
      if (this.lastFailure !== undefined) this.logger.info(`cache file ${this.path} written again`);
      this.lastFailure = undefined;
      this.logger.debug(`cache file ${this.path} written (${Buffer.byteLength(text)} bytes)`);
    } catch (err) {
      await unlink(temp).catch(() => undefined);
      const message = fsErrorMessage(err);
      // The message names the random temp file: the same failure is the same error code.
      const code = (err as { code?: unknown } | undefined)?.code;
      const kind = typeof code === 'string' ? code : message;
      if (kind === this.lastFailure) {
        this.logger.debug(`cache file ${this.path} still not written: ${message}`);
        return;
      }
      this.lastFailure = kind;
      this.report(cacheError(`could not write the cache file ${this.path}`, err));
    }
  }
}

function cacheError(what: string, err: unknown): TailslideError {
  return new TailslideError('CACHE_FILE', `${what}: ${fsErrorMessage(err)}`, { cause: err });
}
