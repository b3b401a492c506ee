/**
 * Fault suite: a corpus of malformed ruleset messages published to a real JetStream. Each must be
 * reported once with its reason, and the process lives. A message that is not a JSON array of
 * flags (or holds no usable flag) is rejected whole: the last good ruleset stays. A bad flag in an
 * otherwise good ruleset is left out and the rest applies (docs/evaluation.md).
 */
import { connect, StorageType, type NatsConnection } from 'nats';
import { FlagManager, InvalidFlagError, type TailslideError, type UpdateEvent } from '../../src/index';
import { NatsServer } from '../support/servers';
import { RecordingLogger, waitFor, wireFlag } from '../support/flags';

const APP = 3;
const MAX_PAYLOAD = 1024 * 1024;
const good = [wireFlag({ id: 31, app_id: APP, title: 'checkout-v2', rollout_percentage: 37.5 })];

/** The good flag, then a bad one: the good one applies, the bad one is left out. */
function flagWith(fields: Record<string, unknown>): string {
  return JSON.stringify([...good, { ...wireFlag({ id: 32, app_id: APP, title: 'bad' }), ...fields }]);
}
function flagWithout(field: string): string {
  const flag: Record<string, unknown> = wireFlag({ id: 32, app_id: APP, title: 'bad' });
  delete flag[field];
  return JSON.stringify([...good, flag]);
}

/**
 * [what it is, payload, what the report must say]. A report that starts `Flag left out` is about
 * one flag (the rest of the message applied); any other rejected the whole message.
 */
const CORPUS: [string, string, RegExp][] = [
  ['empty payload', '', /not JSON/],
  ['plain text', 'hello', /not JSON/],
  ['truncated JSON', JSON.stringify(good).slice(0, 40), /not JSON/],
  ['JSON with a trailing comma', '[{"id":1,},]', /not JSON/],
  ['invalid UTF-8 bytes', '\u00ff\u00fe[]', /not JSON/],
  ['a JSON object (an envelope)', '{"flags":[]}', /expected a JSON array of flags, got an object/],
  ['a JSON string', '"[]"', /expected a JSON array of flags, got "\[\]"/],
  ['a JSON number', '42', /expected a JSON array of flags, got 42/],
  ['JSON null', 'null', /expected a JSON array of flags, got null/],
  ['JSON true', 'true', /expected a JSON array of flags, got true/],
  ['an array of numbers', '[1,2,3]', /flag #0: expected a flag object, got 1/],
  ['an array holding null', '[null]', /flag #0: expected a flag object, got null/],
  ['an array of arrays', '[[]]', /flag #0: expected a flag object, got an array of 0/],
  [
    'a ruleset whose only flag is bad',
    JSON.stringify([wireFlag({ id: 32, app_id: APP, title: '' })]),
    /Invalid ruleset from .*: flag #0 field "title": must be a non-empty string, got ""/,
  ],
  [
    'a flag that is not an object beside a good one',
    JSON.stringify([...good, 7]),
    /Flag left out .*flag #1: expected a flag object, got 7/,
  ],
  ['missing title', flagWithout('title'), /field "title": must be a non-empty string, got undefined/],
  ['empty title', flagWith({ title: '' }), /flag #1 \(id 32\) field "title": must be a non-empty string, got ""/],
  ['blank title', flagWith({ title: '  ' }), /flag #1 \(id 32\) field "title": must be a non-empty string, got " {2}"/],
  ['title that is a number', flagWith({ title: 7 }), /field "title": must be a non-empty string, got 7/],
  ['missing id', flagWithout('id'), /"bad" field "id": is required/],
  ['id as a string', flagWith({ id: '32' }), /field "id": must be an integer ≥ 0, got "32"/],
  ['negative id', flagWith({ id: -4 }), /field "id": must be an integer ≥ 0, got -4/],
  ['missing is_active', flagWithout('is_active'), /field "is_active": is required/],
  ['is_active as a string', flagWith({ is_active: 'true' }), /field "is_active": must be true or false, got "true"/],
  ['is_active as 1', flagWith({ is_active: 1 }), /field "is_active": must be true or false, got 1/],
  ['missing rollout_percentage', flagWithout('rollout_percentage'), /field "rollout_percentage": is required/],
  [
    'rollout_percentage 250',
    flagWith({ rollout_percentage: 250 }),
    /field "rollout_percentage": must be a number from 0 to 100, got 250/,
  ],
  [
    'rollout_percentage -1',
    flagWith({ rollout_percentage: -1 }),
    /field "rollout_percentage": must be a number from 0 to 100, got -1/,
  ],
  [
    'rollout_percentage "50"',
    flagWith({ rollout_percentage: '50' }),
    /field "rollout_percentage": must be a number from 0 to 100, got "50"/,
  ],
  [
    'rollout_percentage null',
    flagWith({ rollout_percentage: null }),
    /field "rollout_percentage": is required, got null/,
  ],
  [
    'circuit_recovery_percentage 101',
    flagWith({ circuit_recovery_percentage: 101 }),
    /field "circuit_recovery_percentage": must be a number from 0 to 100, got 101/,
  ],
  [
    'error_threshold_percentage "40"',
    flagWith({ error_threshold_percentage: '40' }),
    /field "error_threshold_percentage": .*got "40"/,
  ],
  [
    'unknown circuit_status',
    flagWith({ circuit_status: 'half-open' }),
    /field "circuit_status": must be one of "open", "close", "recovery", got "half-open"/,
  ],
  [
    'unknown recovery profile',
    flagWith({ circuit_recovery_profile: 'cubic' }),
    /field "circuit_recovery_profile": must be one of "linear", "exponential", got "cubic"/,
  ],
  [
    'white_listed_users as an array',
    flagWith({ white_listed_users: ['a', 'b'] }),
    /field "white_listed_users": must be a string, got an array of 2/,
  ],
  [
    'circuit_recovery_delay as a float',
    flagWith({ circuit_recovery_delay: 1.5 }),
    /field "circuit_recovery_delay": must be an integer ≥ 0, got 1.5/,
  ],
  [
    'description as an object',
    flagWith({ description: { nested: { deeper: true } } }),
    /field "description": must be a string, got an object/,
  ],
  ['app_id of another app', flagWith({ app_id: 999 }), /field "app_id": is 999, but this ruleset belongs to app 3/],
  [
    'a huge valid-looking ruleset near the max message size with one bad flag at the end',
    hugeRuleset(),
    /Flag left out .*"flag-\d+" \(id \d+\) field "rollout_percentage": must be a number from 0 to 100, got 101/,
  ],
  [
    'duplicate titles',
    JSON.stringify([...good, wireFlag({ id: 2, app_id: APP, title: 'checkout-v2', is_active: false })]),
    /flag #1 "checkout-v2" \(id 2\) field "title": duplicate title \(also flag #0\)/,
  ],
  [
    'duplicate ids',
    JSON.stringify([...good, wireFlag({ id: 31, app_id: APP, title: 'two' })]),
    /flag #1 "two" \(id 31\) field "id": duplicate id 31 \(also flag #0\)/,
  ],
  ['deep nesting (100,000 levels)', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, /not JSON|expected a flag object/],
  [
    'deep nesting inside a flag',
    flagWith({ description: JSON.parse(`${'{"a":'.repeat(500)}1${'}'.repeat(500)}`) as unknown }),
    /field "description": must be a string/,
  ],
  [
    'a huge string that is not JSON, near the max message size',
    'x'.repeat(MAX_PAYLOAD - 4096),
    /not JSON \(\d+ bytes\)/,
  ],
];

function hugeRuleset(): string {
  const flags: Record<string, unknown>[] = [...good];
  let size = 2 + JSON.stringify(good).length;
  for (let i = 0; size < MAX_PAYLOAD - 8192; i++) {
    const flag = wireFlag({ id: 1000 + i, app_id: APP, title: `flag-${i}`, description: 'd'.repeat(200) });
    size += JSON.stringify(flag).length + 1;
    flags.push(flag);
  }
  (flags[flags.length - 1] as Record<string, unknown>).rollout_percentage = 101;
  return JSON.stringify(flags);
}

let server: NatsServer;
let nc: NatsConnection;
let manager: FlagManager;

beforeAll(async () => {
  server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
  nc = await connect({ servers: server.url });
  await (
    await nc.jetstreamManager()
  ).streams.add({ name: 'flags_ruleset', subjects: ['apps.*.update.*'], storage: StorageType.File });
  await nc.jetstream().publish(`apps.${APP}.update.manual`, new TextEncoder().encode(JSON.stringify(good)));
});

afterAll(async () => {
  await manager?.disconnect();
  await nc?.close();
  await server?.dispose();
});

test(`a corpus of ${CORPUS.length} malformed messages: each reported with its reason, the good flag stays`, async () => {
  expect(CORPUS.length).toBeGreaterThanOrEqual(30);
  const logger = new RecordingLogger();
  manager = new FlagManager({ natsServer: server.url, appId: APP, logger, signalBackend: 'off' });
  const errors: TailslideError[] = [];
  manager.on('error', (error) => errors.push(error));
  const updates: UpdateEvent[] = [];
  manager.on('update', (update) => updates.push(update));
  await manager.initialize();
  const toggler = manager.newToggler({ flagName: 'checkout-v2' });
  const before = toggler.evaluate('375d39e6-9c3f-4f58-80bd-e5960b710295');
  expect(before.reason).toBe('ROLLOUT_IN');

  const encoder = new TextEncoder();
  for (const [i, [, payload]] of CORPUS.entries()) {
    const bytes = payload.startsWith('\u00ff') ? Uint8Array.from([0xff, 0xfe, 0x5b, 0x5d]) : encoder.encode(payload);
    await nc.jetstream().publish(`apps.${APP}.update.${i % 2 === 0 ? 'manual' : 'circuit'}`, bytes);
  }
  await waitFor(() => errors.length >= CORPUS.length, `${CORPUS.length} error events (got ${errors.length})`, 20_000);

  expect(errors).toHaveLength(CORPUS.length);
  // Every message that starts with the good flag and has more is applied without its bad flag.
  const goodThenMore = `${JSON.stringify(good).slice(0, -1)},`;
  CORPUS.forEach(([what, payload, reason], i) => {
    expect([what, errors[i]?.code]).toEqual([what, 'INVALID_RULESET']);
    expect([what, errors[i]?.message]).toEqual([what, expect.stringMatching(reason)]);
    const perFlag = payload.startsWith(goodThenMore);
    expect([what, errors[i] instanceof InvalidFlagError]).toEqual([what, perFlag]);
    expect([what, errors[i]?.message.startsWith(perFlag ? 'Flag left out' : 'Invalid ruleset')]).toEqual([what, true]);
  });
  // Each was also logged once, and the ruleset is the good flag again.
  expect(
    logger.matching('warn', /^(Invalid ruleset|Flag left out of the ruleset) from apps\.3\.update\./),
  ).toHaveLength(CORPUS.length);
  expect(manager.getFlags().map((f) => f.title)).toEqual(['checkout-v2']);
  // The huge ruleset applied without its last flag, and was replaced by the next message.
  const huge = updates.filter((u) => u.flagCount > 1000);
  expect(huge).toHaveLength(1);
  expect(updates[updates.indexOf(huge[0]!) + 1]?.flagCount).toBe(1);
  expect(toggler.evaluate('375d39e6-9c3f-4f58-80bd-e5960b710295')).toEqual(before);

  // And the next good message still applies.
  await nc
    .jetstream()
    .publish(
      `apps.${APP}.update.manual`,
      encoder.encode(JSON.stringify([wireFlag({ id: 31, app_id: APP, title: 'checkout-v2', is_active: false })])),
    );
  await waitFor(() => toggler.evaluate('u').reason === 'FLAG_OFF', 'the good message after the corpus');
}, 60_000);
