/** The batch script's arguments and answers, encoded and decoded without a server. */
import type { PlannedCommand } from '../../src/signals/backend';
import { Batch } from '../../src/signals/batch';
import {
  MARKER_TTL_MS,
  decodeScriptReply,
  hashTag,
  isCommandTimeout,
  isNoScript,
  isScriptRefused,
  markerKey,
  scriptArguments,
} from '../../src/signals/batch-script';
import type { BufferEntry, SignalSeries } from '../../src/signals/buffer';
import { isPermanentReplyError, isTransientReplyError } from '../../src/signals/redis-errors';
import { keySlot } from '../../src/signals/slots';

function replyError(message: string): Error {
  const error = new Error(message);
  error.name = 'ReplyError';
  return error;
}

const ID = '0b7e1f6c-4a7d-4a43-9d1e-7d3f3a1c2b55';

describe('markerKey: same hash slot as the key it is built from', () => {
  test.each([
    ['tailslide:sig:{42}:success:1700000040000', '42'],
    ['tailslide:sig:app:{7}:flags', '7'],
    ['42:failure', '42:failure'],
    ['tailslide:metric:42:order%20value:on:count', 'tailslide:metric:42:order%20value:on:count'],
    ['a{}b', 'a{}b'],
  ])('%s → tag %s', (key, tag) => {
    expect(hashTag(key)).toBe(tag);
    const marker = markerKey(ID, key);
    expect(marker).toBe(`tailslide:batch:{${tag}}:${ID}`);
    if (!key.includes('{}')) expect(keySlot(marker)).toBe(keySlot(key));
  });
});

describe('scriptArguments', () => {
  test('numkeys, the marker and each distinct key once, then TTL and per command: extra count, name, key index, extras', () => {
    const commands: PlannedCommand[] = [
      { name: 'HINCRBY', args: ['k1', '5', 3], owner: 0 },
      { name: 'HINCRBYFLOAT', args: ['k1', 's:5', '2.5'], owner: 0 },
      { name: 'PEXPIRE', args: ['k2', 1000], owner: -1 },
      { name: 'ZADD', args: ['k3', 17, 42, 18, 43], owner: -1 },
    ];
    expect(scriptArguments('m', commands)).toEqual([
      4,
      'm',
      'k1',
      'k2',
      'k3',
      MARKER_TTL_MS,
      2,
      'HINCRBY',
      2,
      '5',
      3,
      2,
      'HINCRBYFLOAT',
      2,
      's:5',
      '2.5',
      1,
      'PEXPIRE',
      3,
      1000,
      4,
      'ZADD',
      4,
      17,
      42,
      18,
      43,
    ]);
  });
});

describe('decodeScriptReply', () => {
  test('duplicate', () => {
    expect(decodeScriptReply('duplicate', 3)).toEqual({ kind: 'duplicate' });
  });

  test('per-command replies become [error, reply] as EXEC gives them; errors are reply errors', () => {
    const answer = decodeScriptReply(
      [
        [1, 4],
        [0, 'WRONGTYPE Operation against a key holding the wrong kind of value'],
        [1, '2.5'],
        [0, 'LOADING Redis is loading'],
      ],
      4,
    );
    expect(answer.kind).toBe('applied');
    if (answer.kind !== 'applied') return;
    expect(answer.replies[0]).toEqual([null, 4]);
    expect(answer.replies[2]).toEqual([null, '2.5']);
    const [wrongType] = answer.replies[1] ?? [];
    const [loading] = answer.replies[3] ?? [];
    expect(isPermanentReplyError(wrongType)).toBe(true);
    expect(isTransientReplyError(loading)).toBe(true);
  });

  test("an ACL refusal inside the script reads as NOPERM, as MULTI/EXEC's", () => {
    const answer = decodeScriptReply(
      [[0, "ERR The user executing the script can't run this command or subcommand"]],
      1,
    );
    const [error] = (answer.kind === 'applied' && answer.replies[0]) || [];
    expect(error?.message).toMatch(/^NOPERM The user executing the script/);
    expect(isPermanentReplyError(error)).toBe(true);
  });

  test('fewer replies than commands: the rest stays missing; another shape throws', () => {
    const answer = decodeScriptReply([[1, 1]], 3);
    expect(answer.kind === 'applied' && answer.replies.length).toBe(1);
    expect(() => decodeScriptReply('OK', 1)).toThrow(/unexpected answer/);
  });
});

describe('error kinds', () => {
  test.each([
    [replyError("NOPERM User w has no permissions to run the 'evalsha' command"), true],
    [replyError("ERR unknown command 'EVALSHA', with args beginning with: "), true],
    [replyError('NOSCRIPT No matching script. Please use EVAL.'), false],
    [replyError('LOADING Redis is loading'), false],
    [new Error('Connection is closed.'), false],
  ])('%s: refused scripts → %s', (error, refused) => {
    expect(isScriptRefused(error)).toBe(refused);
  });

  test('NOSCRIPT and the command timeout', () => {
    expect(isNoScript(replyError('NOSCRIPT No matching script. Please use EVAL.'))).toBe(true);
    expect(isNoScript(new Error('NOSCRIPT'))).toBe(false);
    expect(isCommandTimeout(new Error('Command timed out'))).toBe(true);
    expect(isCommandTimeout(new Error('Connection is closed.'))).toBe(false);
  });
});

describe('Batch: groups and replies', () => {
  const series: SignalSeries = { kind: 'signal', flagId: 1, appId: 2, status: 'success' };
  const entries: BufferEntry[] = [{ series, atMs: 1, count: 1, sum: 1 }];
  const commands: PlannedCommand[] = [
    { name: 'HINCRBY', args: ['tailslide:sig:{1}:success:0', '0', 1], owner: 0 },
    { name: 'ZADD', args: ['tailslide:sig:app:{2}:flags', 1, 1], owner: -1 },
    { name: 'PEXPIRE', args: ['tailslide:sig:{1}:success:0', 1], owner: -1 },
  ];

  test('one group on a single Redis; per slot on a Cluster, each with its own marker in its slot', () => {
    expect(new Batch(ID, entries, commands, 1, 0, false).groups).toHaveLength(1);
    const perSlot = new Batch(ID, entries, commands, 1, 0, true);
    expect(perSlot.groups.map((g) => g.positions)).toEqual([[0, 2], [1]]);
    for (const group of perSlot.groups) expect(keySlot(group.marker)).toBe(keySlot(String(group.commands[0]?.args[0])));
  });

  test('answered once every group is; replies in command order; maybeApplied', () => {
    const batch = new Batch(ID, entries, commands, 1, 0, true);
    const [a, b] = batch.groups;
    if (!a || !b) throw new Error('two groups expected');
    expect(batch.answered).toBe(false);
    expect(batch.maybeApplied).toBe(false);
    a.replies = [
      [null, 1],
      [null, 1],
    ];
    expect(batch.answered).toBe(false);
    expect(batch.maybeApplied).toBe(true);
    b.replies = [[null, 'duplicate']];
    expect(batch.answered).toBe(true);
    expect(batch.replies()).toEqual([
      [null, 1],
      [null, 'duplicate'],
      [null, 1],
    ]);
  });
});
