/**
 * The cache file on a real file system (a temp dir per test): atomic writes, and reads that
 * report a missing, corrupt or foreign file instead of failing. Then the manager around it.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TailslideError } from '../../src/errors';
import { FlagManager, TestData, type FlagManagerOptions, type FlagSource } from '../../src/index';
import { DEFAULT_CACHE_FILE_MAX_BYTES } from '../../src/options';
import { parseRuleset } from '../../src/ruleset/parse';
import type { Flag } from '../../src/ruleset/types';
import { CacheFileWriter, readCacheFile } from '../../src/sources/cache-file';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const MAX = DEFAULT_CACHE_FILE_MAX_BYTES;

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tailslide-cache-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function flags(count: number, appId = 1): readonly Flag[] {
  const wire = Array.from({ length: count }, (_, i) =>
    wireFlag({ id: i + 1, app_id: appId, title: `flag ${i + 1}`, description: 'x'.repeat(200) }),
  );
  const parsed = parseRuleset(wire, 'test');
  if (!parsed.ok) throw parsed.error;
  return parsed.flags;
}

describe('CacheFileWriter', () => {
  test('writes the wire format (a JSON array the parser takes back) and leaves no temp file', async () => {
    const path = join(dir, 'flags.json');
    const writer = new CacheFileWriter(path, new RecordingLogger(), (e) => {
      throw e;
    });
    const written = flags(3);
    writer.write(written);
    await writer.close();
    const back = parseRuleset(JSON.parse(readFileSync(path, 'utf8')), 'cache', { appId: 1 });
    expect(back.ok && back.flags).toEqual(written);
    expect(readdirSync(dir)).toEqual(['flags.json']);
  });

  test('a reader never sees half a file while rulesets are written one after another', async () => {
    const path = join(dir, 'flags.json');
    const reports: TailslideError[] = [];
    const writer = new CacheFileWriter(path, new RecordingLogger(), (e) => reports.push(e));
    const big = flags(3_000); // about 1.5 MB: a plain overwrite would be seen half-written
    writer.write(big);
    await waitFor(() => readdirSync(dir).includes('flags.json'), 'the first write');
    let reads = 0;
    let done = false;
    const reader = (async () => {
      while (!done) {
        const text = await readFile(path, 'utf8');
        expect(() => JSON.parse(text) as unknown).not.toThrow();
        reads += 1;
      }
    })();
    // At least 10 rounds, and on a loaded machine more, until the reader has read several times.
    for (let round = 0; round < 10 || (reads <= 5 && round < 500); round++) {
      writer.write(round % 2 === 0 ? big.slice(1) : big);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    writer.write(big); // the newest ruleset, whichever round the loop ended on
    await writer.close();
    done = true;
    await reader;
    expect(reads).toBeGreaterThan(5);
    expect(reports).toEqual([]);
    expect(readdirSync(dir)).toEqual(['flags.json']);
    expect((JSON.parse(readFileSync(path, 'utf8')) as unknown[]).length).toBe(3_000);
  });

  test('rulesets queued during a write: only the newest is written next', async () => {
    const path = join(dir, 'flags.json');
    const logger = new RecordingLogger();
    const writer = new CacheFileWriter(path, logger, () => undefined);
    writer.write(flags(1));
    writer.write(flags(2));
    writer.write(flags(3));
    await writer.close();
    expect((JSON.parse(readFileSync(path, 'utf8')) as unknown[]).length).toBe(3);
    expect(logger.matching('debug', /^cache file .* written/)).toHaveLength(2);
  });

  test('a directory that does not exist: reported once, never thrown, no temp file left', async () => {
    const path = join(dir, 'missing', 'flags.json');
    const reports: TailslideError[] = [];
    const writer = new CacheFileWriter(path, new RecordingLogger(), (e) => reports.push(e));
    writer.write(flags(1));
    await writer.close();
    const again = new CacheFileWriter(path, new RecordingLogger(), (e) => reports.push(e));
    again.write(flags(1));
    await waitFor(() => reports.length === 2, 'the second writer to report');
    again.write(flags(2));
    await again.close();
    expect(reports).toHaveLength(2);
    expect(reports[0]?.code).toBe('CACHE_FILE');
    expect(reports[0]?.message).toMatch(/could not write the cache file .*missing\/flags\.json: ENOENT/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('readCacheFile', () => {
  test('missing, corrupt, foreign and good files', async () => {
    const path = join(dir, 'flags.json');
    expect(await readCacheFile(path, 1, MAX)).toEqual({ kind: 'missing' });

    writeFileSync(path, '[{"id":1,"title":"half');
    const corrupt = await readCacheFile(path, 1, MAX);
    expect(corrupt.kind === 'invalid' && corrupt.error.message).toMatch(
      /^ignoring the cache file: Invalid ruleset from cache file .*flags\.json: not JSON/,
    );

    writeFileSync(path, JSON.stringify({ flags: [] }));
    const notArray = await readCacheFile(path, 1, MAX);
    expect(notArray.kind === 'invalid' && notArray.error.message).toMatch(/expected a JSON array/);

    writeFileSync(path, JSON.stringify([wireFlag({ id: 1, app_id: 2, title: 'of app 2' })]));
    const foreign = await readCacheFile(path, 1, MAX);
    expect(foreign.kind === 'invalid' && foreign.error.message).toMatch(
      /"app_id": is 2, but this ruleset belongs to app 1/,
    );

    writeFileSync(path, JSON.stringify([wireFlag({ id: 1, title: 'good' })]));
    const good = await readCacheFile(path, 1, MAX);
    expect(good.kind).toBe('loaded');
    expect(good.kind === 'loaded' && good.flags.map((f) => f.title)).toEqual(['good']);
  });

  test('a file over the size cap is refused before it is read, naming path, size and cap', async () => {
    const path = join(dir, 'flags.json');
    writeFileSync(path, JSON.stringify([wireFlag({ id: 1, title: 'good' })]));
    const bytes = readFileSync(path).length;
    const over = await readCacheFile(path, 1, bytes - 1);
    expect(over.kind === 'invalid' && over.error.code).toBe('CACHE_FILE');
    expect(over.kind === 'invalid' && over.error.message).toBe(
      `ignoring the cache file ${path}: it is ${bytes.toLocaleString('en-US')} bytes (${(bytes / 1024).toFixed(1)} KiB), over the size cap ` +
        `cacheFileMaxBytes = ${(bytes - 1).toLocaleString('en-US')} bytes (${((bytes - 1) / 1024).toFixed(1)} KiB); nothing of it was read`,
    );
    expect((await readCacheFile(path, 1, bytes)).kind).toBe('loaded');
  });

  test('a directory in its place is reported as unreadable', async () => {
    const result = await readCacheFile(dir, 1, MAX);
    expect(result.kind === 'invalid' && result.error.message).toMatch(/could not read the cache file .*EISDIR/);
  });
});

describe('FlagManager with cacheFile (no server: TestData, and a source that never answers)', () => {
  const managers: FlagManager[] = [];
  afterEach(async () => {
    await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  });
  const silent = (): FlagSource => ({ start: () => Promise.resolve(), close: () => Promise.resolve() });
  function manager(options: Partial<FlagManagerOptions>): { manager: FlagManager; logger: RecordingLogger } {
    const logger = new RecordingLogger();
    const m = new FlagManager({ appId: 1, signalBackend: 'off', logger, initTimeoutMs: 50, ...options });
    managers.push(m);
    return { manager: m, logger };
  }

  test('each update is written; a restart whose source stays silent serves it as source "cache"', async () => {
    const path = join(dir, 'flags.json');
    const td = new TestData().set('a', true);
    const { manager: first } = manager({ source: td.factory(), cacheFile: path });
    await first.initialize();
    await waitFor(() => readdirSync(dir).includes('flags.json'), 'the first ruleset cached');
    td.set('b', { rolloutPercentage: 0, whiteListedUsers: ['u1'] });
    await waitFor(() => readFileSync(path, 'utf8').includes('"b"'), 'the update cached');
    await first.disconnect();

    const { manager: second, logger } = manager({ source: silent, cacheFile: path });
    const ready: string[] = [];
    second.on('ready', () => ready.push('ready'));
    await second.initialize();
    expect(second.initialized).toBe(true);
    expect(ready).toEqual(['ready']);
    expect(second.rulesetSource).toBe('cache');
    expect(second.evaluate('b', 'u1')).toMatchObject({ value: true, reason: 'WHITELISTED', source: 'cache' });
    expect(
      logger.matching(
        'warn',
        /^no ruleset after 50 ms \(initTimeoutMs\).*Serving the cache file .*flags\.json \(2 flags, written /,
      ),
    ).toHaveLength(1);
  });

  test('the cache file wins over the bootstrap at the timeout; without one, the bootstrap stays', async () => {
    const path = join(dir, 'flags.json');
    const bootstrap = [wireFlag({ id: 9, title: 'from bootstrap' })];
    const without = manager({ source: silent, cacheFile: path, bootstrap });
    await without.manager.initialize();
    expect(without.manager.rulesetSource).toBe('bootstrap');
    expect(without.logger.matching('info', /^no cache file .* yet/)).toHaveLength(1);

    writeFileSync(path, JSON.stringify([wireFlag({ id: 1, title: 'from cache' })]));
    const withCache = manager({ source: silent, cacheFile: path, bootstrap });
    await withCache.manager.initialize();
    expect(withCache.manager.getFlags().map((f) => f.title)).toEqual(['from cache']);
    expect(withCache.manager.evaluate('from cache').source).toBe('cache');
  });

  test('a corrupt cache file is reported (warn and error event) and ignored, never fatal', async () => {
    const path = join(dir, 'flags.json');
    writeFileSync(path, 'this is not the cache you are looking for');
    const { manager: m, logger } = manager({ source: silent, cacheFile: path });
    const errors: TailslideError[] = [];
    m.on('error', (e) => errors.push(e));
    await m.initialize();
    expect(m.state).toBe('initializing');
    expect(m.initialized).toBe(false);
    expect(m.evaluate('anything')).toMatchObject({ reason: 'NOT_READY', source: undefined });
    expect(errors.map((e) => e.code)).toEqual(['CACHE_FILE']);
    expect(logger.matching('warn', /^ignoring the cache file: .*not JSON/)).toHaveLength(1);
    expect(logger.matching('warn', /^not ready after 50 ms/)).toHaveLength(1);
  });
});
