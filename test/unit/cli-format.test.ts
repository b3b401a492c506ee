import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffRulesets } from '../../src/admin/diff';
import type { RulesetUpdate } from '../../src/admin/watch';
import { frameLines, frameRecord, type Frame } from '../../src/cli/demo/live-view';
import { LINE_COLUMNS, legendLines, quietUpdate, reportLines, wrap } from '../../src/cli/demo/log-lines';
import { tryCommands, type IntroInput } from '../../src/cli/demo/intro';
import { editLines, editReport } from '../../src/cli/format/edit-report';
import { EXIT_CODE_HELP } from '../../src/cli/core/exit-codes';
import { APP_ID_OPTION, NATS_OPTIONS, REDIS_OPTIONS } from '../../src/cli/parse/options';
import { duration, formatValue, percentage, ratio, redactUrl, sparkline, table } from '../../src/cli/format/common';
import { explain } from '../../src/cli/format/eval';
import { diffLines, flagDetail, flagState, flagsTable } from '../../src/cli/format/flags';
import { maxBucketRate, statsLines, type FlagStats } from '../../src/cli/format/stats';
import { watchLines, watchRecord } from '../../src/cli/format/watch';
import { bucket } from '../../src/evaluation/bucket';
import type { WireFlag } from '../../src/ruleset/types';
import type { EvaluationDetail } from '../../src/toggler';
import { wireFlag } from '../support/flags';

const flag = (fields: Partial<WireFlag> & { id: number; title: string }): WireFlag => wireFlag(fields) as WireFlag;

describe('text blocks', () => {
  it('aligns columns, numbers to the right, without trailing blanks', () => {
    expect(
      table(
        [{ header: 'ID', align: 'right' }, { header: 'NAME' }, { header: 'NOTE' }],
        [
          ['7', 'checkout', ''],
          ['123', 'x', 'long note'],
        ],
      ),
    ).toEqual([' ID  NAME      NOTE', '  7  checkout', '123  x         long note']);
  });

  it('formats numbers, durations and values', () => {
    expect(ratio(0.1234)).toBe('12.3 %');
    expect(percentage(50)).toBe('50 %');
    expect(percentage(12.3456)).toBe('12.346 %');
    expect(duration(500)).toBe('500ms');
    expect(duration(90_000)).toBe('1m30s');
    expect(duration(3_600_000)).toBe('1h');
    expect(formatValue('')).toBe('""');
    expect(formatValue(20)).toBe('20');
    expect(formatValue(false)).toBe('false');
    expect(formatValue(undefined)).toBe('(none)');
  });

  it('draws sparklines: zero lowest, anything above zero visible, no data as a dot', () => {
    expect(sparkline([0, 1, 2, 4, 8])).toBe('▁▂▃▅█');
    expect(sparkline([0, 0.001, 10], 10)).toBe('▁▂█');
    expect(sparkline([undefined, 0, 5])).toBe('·▁█');
    expect(sparkline([0, 0])).toBe('▁▁');
    expect(sparkline([20], 10)).toBe('█');
  });

  it('hides passwords in URLs', () => {
    expect(redactUrl('redis://:s3cret@host:6379/2')).toBe('redis://:***@host:6379/2');
    expect(redactUrl('redis://user:pw@host')).toBe('redis://user:***@host');
    expect(redactUrl('rediss://token@host')).toBe('rediss://***@host');
    expect(redactUrl('redis://127.0.0.1:6379')).toBe('redis://127.0.0.1:6379');
  });
});

describe('flags', () => {
  const a = flag({
    id: 1,
    title: 'checkout-v2',
    is_active: true,
    rollout_percentage: 50,
    error_threshold_percentage: 0,
  });
  const b = flag({
    id: 2,
    title: 'search',
    is_active: true,
    rollout_percentage: 20,
    white_listed_users: 'x,y',
    circuit_status: 'recovery',
  });
  const c = flag({ id: 3, title: 'dark-mode', is_active: false });

  it('says how a flag is set in a few words', () => {
    expect(flagState(a)).toBe('on, 50 %');
    expect(flagState(b)).toBe('on, 20 % + 2 listed, circuit recovery');
    expect(flagState(c)).toBe('off');
  });

  it('lists flags as a table and one flag field by field', () => {
    const lines = flagsTable([a, c]);
    expect(lines[0]).toMatch(/^ID\s+TITLE\s+ACTIVE\s+ROLLOUT\s+WHITELIST\s+CIRCUIT\s+THRESHOLD\s+UPDATED$/);
    expect(lines[1]).toMatch(/^ 1\s+checkout-v2\s+on\s+50 %\s+0\s+close\s+-\s+2022-08-11T18:56:12.441Z$/);
    const detail = flagDetail({ ...a, team: 'payments' });
    expect(detail[0]).toMatch(/^id:\s+1$/);
    expect(detail).toContainEqual(expect.stringMatching(/^title:\s+"checkout-v2"$/));
    expect(detail[detail.length - 1]).toMatch(/^team:\s+"payments"$/);
  });

  it('prints a diff one line per flag, fields as before → after', () => {
    const after = [{ ...a, rollout_percentage: 20, is_active: false }, flag({ id: 4, title: 'new', is_active: false })];
    expect(diffLines(diffRulesets([a, c], after))).toEqual([
      '+ "new" (id 4) added: off',
      '- "dark-mode" (id 3) removed',
      '~ "checkout-v2" (id 1): is_active: true → false, rollout_percentage: 50 → 20',
    ]);
  });

  it('reports an edit, and an edit that changed nothing', () => {
    const after = { ...a, rollout_percentage: 20, updated_at: '2030-01-01T00:00:00.000Z' };
    const outcome = {
      appId: 1,
      published: true,
      subject: 'apps.1.update.manual',
      sequence: 9,
      flags: [after],
      flag: after,
      attempts: 2,
    };
    const report = editReport('updated', a, outcome);
    expect(report.changes).toEqual([{ field: 'rollout_percentage', before: 50, after: 20 }]);
    expect(editLines(report)).toEqual([
      'updated "checkout-v2" (id 1) in app 1: ruleset #9 on apps.1.update.manual after 2 attempts (other writers got in first)',
      '  rollout_percentage: 50 → 20',
    ]);
    const same = editReport('updated', a, { ...outcome, published: false, flag: a, attempts: 1 });
    expect(editLines(same)).toEqual([
      '"checkout-v2" (id 1) in app 1 is already like that: nothing published (ruleset #9 stays)',
    ]);
  });
});

describe('watch lines', () => {
  const base = {
    appId: 1,
    subject: 'apps.1.update.manual',
    time: new Date(2026, 0, 1, 12, 0, 5),
    error: undefined,
    invalidFlags: [],
  };
  const a = flag({ id: 1, title: 'checkout-v2', rollout_percentage: 50 });

  it('shows the starting ruleset, then each change on its own line', () => {
    const first: RulesetUpdate = { ...base, sequence: 4, initial: true, flags: [a], diff: diffRulesets([], [a]) };
    expect(watchLines(first)).toEqual(['12:00:05 #4 manual  current ruleset: 1 flag: "checkout-v2"']);
    const changed = { ...a, rollout_percentage: 20 };
    const next: RulesetUpdate = {
      ...base,
      sequence: 5,
      initial: false,
      flags: [changed],
      diff: diffRulesets([a], [changed]),
    };
    expect(watchLines(next)).toEqual(['12:00:05 #5 manual  ~ "checkout-v2" (id 1): rollout_percentage: 50 → 20']);
    expect(watchRecord(next)).toMatchObject({
      sequence: 5,
      valid: true,
      diff: { changed: [{ id: 1, fields: [{ field: 'rollout_percentage', before: 50, after: 20 }] }] },
    });
    const same: RulesetUpdate = { ...next, sequence: 6, diff: { added: [], removed: [], changed: [] } };
    expect(watchLines(same)).toEqual(['12:00:05 #6 manual  republished, no flag changed (1 flags)']);
  });
});

describe('why a flag evaluated as it did', () => {
  const detail = (reason: EvaluationDetail['reason'], userContext = 'alice'): EvaluationDetail => ({
    flagName: 'checkout-v2',
    flagId: 1,
    appId: 1,
    value: false,
    variant: 'off',
    reason,
    userContext,
  });

  it('names the bucket and the rollout, recovery included', () => {
    const f = flag({ id: 1, title: 'checkout-v2', rollout_percentage: 50 });
    const b = (bucket('checkout-v2', 'alice') / 1000).toFixed(3);
    expect(explain(detail('ROLLOUT_IN'), f)).toBe(`the user's bucket ${b} % is below the rollout of 50 %`);
    const recovering = {
      ...f,
      is_recoverable: true,
      circuit_status: 'recovery' as const,
      circuit_recovery_percentage: 20,
    };
    expect(explain(detail('ROLLOUT_OUT'), recovering)).toBe(
      `the user's bucket ${b} % is not below the rollout of 10 % (50 % × circuit recovery 20 %)`,
    );
    expect(explain(detail('FLAG_OFF'), f)).toBe('the flag is off (is_active: false)');
    expect(explain(detail('NO_USER_CONTEXT', ''), f)).toContain('no user context');
    expect(explain(detail('ROLLOUT_OUT'), { ...f, rollout_percentage: 0 })).toContain('0 %');
  });

  it('says that an active flag is served although its circuit field says open', () => {
    const open = flag({ id: 1, title: 'checkout-v2', rollout_percentage: 100, circuit_status: 'open' });
    expect(explain({ ...detail('FULL_ROLLOUT'), value: true }, open)).toBe(
      'the rollout is 100 %: everyone gets it; circuit field says open (is_active decides)',
    );
    expect(flagState(open)).toBe('on, 100 %; circuit field says open');
    expect(flagState({ ...open, is_active: false })).toBe('off, circuit open');
  });
});

describe('stats', () => {
  const row = (flagId: number, title: string | undefined, series: [number, number][]): FlagStats => {
    const success = series.reduce((s, [ok]) => s + ok, 0);
    const failure = series.reduce((s, [, fail]) => s + fail, 0);
    return {
      flagId,
      title,
      success,
      failure,
      total: success + failure,
      errorRate: success + failure === 0 ? 0 : failure / (success + failure),
      series: series.map(([ok, fail], i) => ({ startMs: i * 60_000, success: ok, failure: fail })),
    };
  };

  it('shares one error-rate scale between flags and shows buckets without requests as dots', () => {
    const flags = [
      row(1, 'checkout-v2', [
        [9, 1],
        [0, 0],
        [5, 5],
      ]),
      row(2, undefined, [
        [10, 0],
        [10, 0],
        [0, 0],
      ]),
    ];
    expect(maxBucketRate(flags)).toBe(0.5);
    const lines = statsLines({
      appId: 1,
      windowMs: 900_000,
      chartMs: 180_000,
      bucketMs: 60_000,
      source: 'redis://x (backend auto)',
      flags,
    });
    expect(lines[0]).toBe('app 1: signals of the last 15m from redis://x (backend auto)');
    expect(lines[1]).toContain('█ 50.0 %');
    expect(lines[4]).toMatch(/^ 1\s+checkout-v2\s+14\s+6\s+20\s+30.0 %\s+█▁█\s+▃·█$/);
    expect(lines[5]).toMatch(/^ 2\s+\(deleted flag #2\)\s+20\s+0\s+20\s+0.0 %\s+██▁\s+▁▁·$/);
  });
});

describe('demo view', () => {
  const frame: Frame = {
    appId: 1000,
    sequence: 7,
    elapsedMs: 12_300,
    durationMs: 30_000,
    windowMs: 3_000,
    nats: 'nats://127.0.0.1:4222',
    redis: 'redis://127.0.0.1:6379',
    signals: { backend: 'native', written: 1500, pending: 3, dropped: 0, unknown: 0, timeouts: 0 },
    requests: 3600,
    rows: [
      {
        title: 'checkout-v2',
        operation: 'checkout',
        flag: flag({ id: 1, title: 'checkout-v2', rollout_percentage: 50 }),
        recent: { on: 120, off: 120, onFailures: 18, offFailures: 3 },
        redis: { success: 400, failure: 60, total: 460, errorRate: 60 / 460 },
      },
      {
        title: 'dark-mode',
        operation: 'page view',
        flag: undefined,
        recent: { on: 0, off: 0, onFailures: 0, offFailures: 0 },
        redis: undefined,
      },
    ],
    changes: ['12:00:05 #7 manual  ~ "checkout-v2" (id 1): rollout_percentage: 20 → 50'],
    status: undefined,
  };

  it('draws a frame with share, rate and error rates per path', () => {
    const lines = frameLines(frame, 200);
    expect(lines[0]).toBe('tailslide demo · app 1000 · ruleset #7 · 12s of 30s · Ctrl-C to stop');
    expect(lines.find((l) => l.startsWith('checkout-v2'))).toMatch(
      /checkout-v2\s+checkout\s+on, 50 %\s+50.0 %\s+80\s+15.0 %\s+2.5 %\s+400 ok, 60 failed \(13.0 %\)/,
    );
    expect(lines.find((l) => l.startsWith('dark-mode'))).toMatch(/not in the ruleset\s+-\s+0\s+-\s+-\s+-$/);
    expect(lines[lines.length - 1]).toContain('rollout_percentage: 20 → 50');
    expect(frameLines(frame, 40).every((l) => [...l].length <= 40)).toBe(true);
  });

  it('piped: a legend once, then a report of aligned short lines, one per flag', () => {
    expect(legendLines(5_000)[0]).toMatch(/^Every 5s, one line per flag: its setting, requests per second/);
    expect(legendLines(5_000).every((l) => l.length <= LINE_COLUMNS)).toBe(true);
    const at = new Date(2026, 0, 1, 12, 0, 5);
    expect(reportLines(frame, at)).toEqual([
      '12:00:05 after 12s of 30s: 240 requests in the last 3s (ruleset #7)',
      '  checkout-v2  on, 50 %            80 req/s  failed: new 15.0 %, old 2.5 %',
      '  dark-mode    not in the ruleset   0 req/s  failed: new -, old -',
    ]);
    const row = (title: string): Frame['rows'][number] => ({
      title,
      operation: 'checkout',
      flag: flag({ id: 1, title, rollout_percentage: 50, circuit_status: 'recovery', circuit_recovery_percentage: 30 }),
      recent: { on: 120, off: 120, onFailures: 18, offFailures: 3 },
      redis: undefined,
    });
    expect(reportLines({ ...frame, rows: [row('x')] }, at)[1]).toBe(
      '  x  on, 50 %, circuit recovery at 30 %  80 req/s  failed: new 15.0 %, old 2.5 %',
    );
    const cut = reportLines({ ...frame, rows: [row('a-very-long-flag-title-'.repeat(5))] }, at)[1] ?? '';
    expect(cut).toMatch(/^ {2}a-very-long-flag-title-.*…$/);
    expect(cut).toHaveLength(LINE_COLUMNS);
  });

  it('piped: a change leaves out the breaker timestamps, and a long line wraps after a comma', () => {
    const before = flag({ id: 1, title: 'checkout-v2' });
    const after = flag({ id: 1, title: 'checkout-v2', is_active: false, circuit_status: 'open' });
    const update: RulesetUpdate = {
      appId: 1,
      subject: 'apps.1.update.circuit',
      sequence: 4,
      time: new Date(),
      initial: false,
      flags: [after],
      invalidFlags: [],
      error: undefined,
      diff: {
        added: [],
        removed: [],
        changed: [
          {
            id: 1,
            title: 'checkout-v2',
            before,
            after,
            fields: [
              { field: 'is_active', before: true, after: false },
              { field: 'circuit_changed_at', before: undefined, after: '2026-12-07T16:38:20.383Z' },
            ],
          },
        ],
      },
    };
    expect(quietUpdate(update).diff.changed[0]?.fields.map((f) => f.field)).toEqual(['is_active']);
    expect(update.diff.changed[0]?.fields).toHaveLength(2); // the original is left as it was
    const long = `16:38:20 #4 circuit  ~ "checkout-v2" (id 1): ${Array.from({ length: 12 }, (_, i) => `field_${i}: 1 → 2`).join(', ')}`;
    const wrapped = wrap(long);
    expect(wrapped.length).toBeGreaterThan(1);
    expect(wrapped.every((l) => l.length <= LINE_COLUMNS)).toBe(true);
    expect(wrapped[0]).toMatch(/,$/);
    expect(wrapped[1]).toMatch(/^ {4}field_/);
    expect(wrapped.map((l, i) => (i === 0 ? l : l.slice(4))).join(' ')).toBe(long);
    expect(wrap('short')).toEqual(['short']);
  });

  it('with --json, one record per tick', () => {
    expect(frameRecord(frame)).toMatchObject({
      event: 'tick',
      sequence: 7,
      flags: [
        { title: 'checkout-v2', rollout: 50, onShare: 0.5, errorRateOn: 0.15 },
        { title: 'dark-mode', id: null },
      ],
    });
  });

  it('prints the commands to try with the flags that reach its servers', () => {
    const input: IntroInput = {
      appId: 1000,
      natsServer: 'nats://127.0.0.1:4222',
      natsStream: 'flags_ruleset',
      redisUrl: 'redis://127.0.0.1:6379',
      nats: undefined,
      redis: undefined,
      app: { flags: [], sequence: 3, created: [], reset: [] },
      whitelisted: 'u1',
      durationMs: undefined,
      credentials: false,
    };
    expect(tryCommands(input)[0]).toBe('npx tailslide flags set-rollout checkout-v2 10 --app-id 1000');
    const own = tryCommands({ ...input, natsServer: 'nats://127.0.0.1:5555', redisUrl: 'redis://:pw@127.0.0.1:6666' });
    expect(own[0]).toBe(
      'npx tailslide flags set-rollout checkout-v2 10 --app-id 1000 --nats-server nats://127.0.0.1:5555',
    );
    expect(own[own.length - 1]).toContain('--redis-url redis://:***@127.0.0.1:6666');
  });
});

describe('docs/cli.md, the reference of the tailslide command', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'cli.md'), 'utf8');

  it('lists every setting with its environment variable, and every exit code', () => {
    for (const spec of [...NATS_OPTIONS, APP_ID_OPTION, ...REDIS_OPTIONS]) {
      expect(doc).toContain(spec.env);
      expect(doc).toContain(spec.flags.split(' ')[0]);
    }
    for (const [code] of EXIT_CODE_HELP) expect(doc).toMatch(new RegExp(`\\n\\| ${code} \\|`));
  });
});
