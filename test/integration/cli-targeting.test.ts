/**
 * The targeting commands of `tailslide` (flags variations | targets | rules, flags create with
 * variations, flags show, evaluate --context) and flags that fail validation, run as a child
 * process (the built dist/cjs/cli/main.js) against a nats-server started here. An SDK FlagManager
 * follows the app and must serve the right variation after each edit. The expected values are the
 * worked example of docs/targeting.md.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { arrayElementTexts } from '../../src/admin/raw-json';
import type { ContextAttributes } from '../../src/evaluation/context';
import { silentLogger } from '../../src/logger';
import { FlagManager } from '../../src/manager';
import type { JsonValue } from '../../src/ruleset/targeting';
import type { WireFlag } from '../../src/ruleset/types';
import { NatsServer } from '../support/servers';
import { waitFor, wireFlag } from '../support/flags';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'cjs', 'cli', 'main.js');

let nats: NatsServer;
let nc: NatsConnection;
let scratch: string;
const managers: FlagManager[] = [];

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], input = ''): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('TAILSLIDE_')) env[key] = value;
  env.TAILSLIDE_NATS_SERVER = nats.url;
  const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.end(input);
  const killer = setTimeout(() => child.kill('SIGKILL'), 25_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr });
    });
  });
}

async function ok(args: readonly string[], input = ''): Promise<string> {
  const run = await cli(args, input);
  if (run.code !== 0) throw new Error(`tailslide ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return run.stdout;
}

async function json<T>(args: readonly string[], input = ''): Promise<T> {
  return JSON.parse(await ok([...args, '--json'], input)) as T;
}

interface EditJson {
  published: boolean;
  sequence: number;
  flag: WireFlag;
}

async function follow(appId: number): Promise<FlagManager> {
  const manager = new FlagManager({ natsServer: nats.url, appId, logger: silentLogger, signalBackend: 'off' });
  managers.push(manager);
  manager.on('error', () => undefined);
  await manager.initialize();
  return manager;
}

/** Waits until the manager serves `expected` for the context (after the edit reaches it). */
async function serves(
  manager: FlagManager,
  context: string | ContextAttributes,
  expected: JsonValue,
  reason?: string,
): Promise<void> {
  await waitFor(
    () => {
      const detail = manager.variationDetail('pricing-page', context, null);
      return (
        JSON.stringify(detail.value) === JSON.stringify(expected) && (reason === undefined || detail.reason === reason)
      );
    },
    `pricing-page to serve ${JSON.stringify(expected)} to ${JSON.stringify(context)}`,
  );
}

const EU_ANNUAL = {
  id: 'eu-annual',
  clauses: [
    { attribute: 'country', op: 'in', values: ['NL', 'BE', 'DE'] },
    { attribute: 'app_version', op: 'semver_gt', values: ['2.3.0'] },
  ],
  serve: { variation: 1 },
};
const STAFF = {
  id: 'staff',
  clauses: [{ attribute: 'email', op: 'ends_with', values: ['@example.com'] }],
  serve: {
    split: [
      { variation: 1, weight: 50000 },
      { variation: 2, weight: 50000 },
    ],
  },
};
const NL_241 = { key: 'user-42', country: 'NL', app_version: '2.4.1' };
const NL_230 = { key: 'user-42', country: 'NL', app_version: '2.3.0' };
const STAFF_7 = { key: 'user-7', email: 'a@example.com' };

beforeAll(async () => {
  nats = await NatsServer.start();
  nc = await connect({ servers: nats.url });
  scratch = mkdtempSync(join(tmpdir(), 'tailslide-cli-targeting-'));
  await ok(['stream', 'init']);
}, 60_000);

afterAll(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
  await nc?.close();
  await nats?.dispose();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the worked example of docs/targeting.md, built with the command', () => {
  const app = ['--app-id', '1'];

  it('creates the flag, pins a target, sets rules from a file and stdin, and evaluates contexts', async () => {
    const created = await json<EditJson>([
      'flags',
      'create',
      'pricing-page',
      ...app,
      '--on',
      '--rollout',
      '100',
      '--variations',
      '["control","annual-first","monthly-first"]',
      '--off-variation',
      '0',
      '--fallthrough-split',
      '0:50%,1:50%',
    ]);
    expect(created.flag).toMatchObject({
      variations: ['control', 'annual-first', 'monthly-first'],
      off_variation: 0,
      fallthrough: {
        split: [
          { variation: 0, weight: 50000 },
          { variation: 1, weight: 50000 },
        ],
      },
    });
    const manager = await follow(1);
    // user-7's split bucket is 16784, user-42's 76664: below and above 50000.
    await serves(manager, 'user-7', 'control', 'FALLTHROUGH');
    await serves(manager, 'user-42', 'annual-first', 'FALLTHROUGH');

    const pinned = await json<EditJson>(['flags', 'targets', 'pricing-page', '--add', '2:qa-1,qa-9', ...app]);
    expect(pinned.flag.targets).toEqual([{ variation: 2, values: ['qa-1', 'qa-9'] }]);
    await ok(['flags', 'targets', 'pricing-page', '--remove', 'qa-9', ...app]);
    await serves(manager, 'qa-1', 'monthly-first', 'TARGET_MATCH');

    const file = join(scratch, 'rules.json');
    writeFileSync(file, JSON.stringify([EU_ANNUAL]));
    const fromFile = await json<EditJson>(['flags', 'rules', 'pricing-page', file, ...app]);
    expect(fromFile.flag.rules).toEqual([EU_ANNUAL]);
    await serves(manager, NL_241, 'annual-first', 'RULE_MATCH');
    await serves(manager, STAFF_7, 'control', 'FALLTHROUGH');

    await ok(['flags', 'rules', 'pricing-page', '-', ...app], JSON.stringify([EU_ANNUAL, STAFF]));
    await serves(manager, STAFF_7, 'annual-first', 'RULE_MATCH');

    // evaluate --context: the rows of the worked example, value, index, reason, rule and bucket.
    const rule = await json<Record<string, unknown>>([
      'evaluate',
      'pricing-page',
      '--context',
      JSON.stringify(NL_241),
      ...app,
    ]);
    expect(rule).toMatchObject({
      variationValue: 'annual-first',
      variationIndex: 1,
      reason: 'RULE_MATCH',
      ruleIndex: 0,
    });
    expect(rule).toMatchObject({ ruleId: 'eu-annual' });
    const fallthrough = await json<Record<string, unknown>>([
      'evaluate',
      'pricing-page',
      '--context',
      JSON.stringify(NL_230),
      ...app,
    ]);
    expect(fallthrough).toMatchObject({ variationValue: 'annual-first', reason: 'FALLTHROUGH', splitBucket: 76664 });
    const staff = await ok(['evaluate', 'pricing-page', '--context', JSON.stringify(STAFF_7), ...app]);
    expect(staff).toContain('"pricing-page" (id 1) serves "annual-first" (variation 1) for context');
    expect(staff).toContain(
      '  reason: RULE_MATCH: rule 1 "staff" matched; its split by key puts bucket 16784 in variation 1 ("annual-first")',
    );
    expect(staff).toContain('  rule: 1 "staff"');
    expect(staff).toContain('  split bucket: 16784 (of 100000)');
    const target = await json<Record<string, unknown>>(['evaluate', 'pricing-page', '--user', 'qa-1', ...app]);
    expect(target).toMatchObject({ variationValue: 'monthly-first', variationIndex: 2, reason: 'TARGET_MATCH' });

    // At a 10 % rollout, user-42 (gate bucket 21009) is out; qa-1 is pinned before the gate.
    await ok(['flags', 'set-rollout', 'pricing-page', '10', ...app]);
    const out = await json<Record<string, unknown>>([
      'evaluate',
      'pricing-page',
      '--context',
      JSON.stringify(NL_241),
      ...app,
    ]);
    expect(out).toMatchObject({ variationValue: 'control', variationIndex: 0, reason: 'ROLLOUT_OUT' });
    await serves(manager, NL_241, 'control', 'ROLLOUT_OUT');
    await serves(manager, 'qa-1', 'monthly-first', 'TARGET_MATCH');
    await ok(['flags', 'set-rollout', 'pricing-page', '100', ...app]);

    // flags show prints the targeting readably.
    const shown = await ok(['flags', 'show', 'pricing-page', ...app]);
    expect(shown).toContain('targeting:');
    expect(shown).toContain('    2 ("monthly-first") ← qa-1');
    expect(shown).toContain('    [0] "eu-annual": if country in ["NL","BE","DE"] and app_version semver_gt ["2.3.0"]');
    expect(shown).toContain('  fallthrough: split by key: 0 ("control") 50 %, 1 ("annual-first") 50 %');

    // Off: the off variation, and targeting kept as it was.
    const before = (await json<WireFlag>(['flags', 'show', 'pricing-page', ...app])) as Record<string, unknown>;
    await ok(['flags', 'off', 'pricing-page', ...app]);
    await serves(manager, 'qa-1', 'control', 'FLAG_OFF');
    await ok(['flags', 'on', 'pricing-page', ...app]);
    const after = (await json<WireFlag>(['flags', 'show', 'pricing-page', ...app])) as Record<string, unknown>;
    for (const field of ['variations', 'off_variation', 'targets', 'rules', 'fallthrough']) {
      expect(after[field]).toEqual(before[field]);
    }

    // A single fallthrough variation, then a plain boolean flag again.
    await ok(['flags', 'variations', 'pricing-page', '--fallthrough', '2', ...app]);
    await serves(manager, 'user-7', 'monthly-first', 'FALLTHROUGH');
    await ok(['flags', 'rules', 'pricing-page', '--clear', ...app]);
    expect((await json<Record<string, unknown>>(['flags', 'show', 'pricing-page', ...app])).rules).toBeUndefined();
    await ok(['flags', 'variations', 'pricing-page', '--clear', ...app]);
    await serves(manager, 'user-7', true, 'FULL_ROLLOUT');
  });

  it('refuses a bad rule naming the rule and the clause, and publishes nothing', async () => {
    await ok([
      'flags',
      'create',
      'bad-rules',
      ...app,
      '--variations',
      '["a","b"]',
      '--off-variation',
      '0',
      '--fallthrough',
      '1',
    ]);
    const before = await json<EditJson>(['flags', 'show', 'bad-rules', ...app]);
    const bad = [EU_ANNUAL, { ...STAFF, clauses: [{ attribute: 'email', op: 'equals', values: ['x'] }] }];
    const dry = await cli(['flags', 'rules', 'bad-rules', '-', '--dry-run', ...app], JSON.stringify(bad));
    expect(dry.code).toBe(1);
    expect(dry.stderr).toContain('field "rules[1].clauses[0].op"');
    expect(await ok(['flags', 'rules', 'bad-rules', '-', '--dry-run', ...app], JSON.stringify([EU_ANNUAL]))).toMatch(
      /^1 rule, valid for "bad-rules" \(id \d+\) in app 1 \(nothing published: --dry-run\)\n$/,
    );
    const run = await cli(['flags', 'rules', 'bad-rules', '-', ...app], JSON.stringify(bad));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^tailslide: Flag "bad-rules" of app 1: field "rules\[1\]\.clauses\[0\]\.op" must be one of in, /,
    );
    expect(run.stderr).toContain('got "equals"');
    // An index out of range names its place too, and the split syntax is checked before connecting.
    const index = await cli(
      ['flags', 'rules', 'bad-rules', '-', ...app],
      JSON.stringify([{ ...EU_ANNUAL, serve: { variation: 5 } }]),
    );
    expect(index.stderr).toContain('field "rules[0].serve.variation" must be a variation index from 0 to 1, got 5');
    const split = await cli(['flags', 'variations', 'bad-rules', '--fallthrough-split', '0:60%,1:50%', ...app]);
    expect(split).toMatchObject({ code: 1, stderr: expect.stringContaining('add up to 110 %') as unknown });
    expect(await json<EditJson>(['flags', 'show', 'bad-rules', ...app])).toEqual(before);
  });
});

describe('an app with a flag that fails validation (a Tower ruleset with an empty title)', () => {
  it('lists it with a marker and the reason, keeps it on edits, and fixes it by id', async () => {
    await ok(['stream', 'init', '--app-id', '2']);
    const untitled = `{"id":21,"app_id":2,"title":"","is_active":true,"rollout_percentage":0.0}`;
    const good = JSON.stringify(wireFlag({ id: 20, app_id: 2, title: 'checkout-v2', rollout_percentage: 30 }));
    await nc.jetstream().publish('apps.2.update.manual', new TextEncoder().encode(`[${good},${untitled}]`));
    const app = ['--app-id', '2'];

    const listed = await ok(['flags', 'list', ...app]);
    expect(listed).toContain('app 2: 2 flags (1 invalid, kept as they are)');
    expect(listed).toMatch(/21\s+"" \(invalid: field "title": must be a non-empty string, got ""\)/);

    await ok(['flags', 'set-rollout', 'checkout-v2', '50', ...app]);
    const msg = await (
      await nc.jetstreamManager()
    ).streams.getMessage('flags_ruleset', { last_by_subj: 'apps.2.update.manual' });
    expect(arrayElementTexts(new TextDecoder().decode(msg.data))?.[1]).toBe(untitled);

    const evaluated = await cli(['evaluate', '#21', ...app]);
    expect(evaluated.code).toBe(2);
    expect(evaluated.stderr).toContain('flag #1 "" (id 21): invalid: field "title"');
    expect(evaluated.stderr).toContain('FLAG_NOT_FOUND');

    const refused = await cli(['flags', 'on', '#21', ...app]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('field "title" is still invalid after this edit: must be a non-empty string');

    const fixed = await json<EditJson>(['flags', 'update', '#21', '--title', 'named', ...app]);
    expect(fixed.flag).toMatchObject({ id: 21, title: 'named' });
    expect(await ok(['flags', 'list', ...app])).toContain('app 2: 2 flags, ruleset');
  });
});
