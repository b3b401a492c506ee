import { afterEach, expect } from '@jest/globals';
import { compileFlag } from '../../src/evaluation/evaluator';
import { FlagManager } from '../../src/index';
import { parseRuleset } from '../../src/ruleset/parse';
import type { SignalSink } from '../../src/signals/types';
import { Toggler, type TogglerHost } from '../../src/toggler';
import { RecordingLogger, wireFlag } from '../support/flags';
import { PRICING_PAGE } from '../support/targeting';

const PRICING = PRICING_PAGE;
const BETA = wireFlag({
  id: 43,
  title: 'beta',
  rules: [{ id: 'nl', clauses: [{ attribute: 'country', op: 'in', values: ['NL'] }], serve: { variation: 1 } }],
  fallthrough: { variation: 0 },
});
const PLAIN = wireFlag({ id: 44, title: 'plain', rollout_percentage: 100 });

const managers: FlagManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.disconnect()));
});

async function manager(): Promise<FlagManager> {
  const m = new FlagManager({
    offline: true,
    appId: 1,
    bootstrap: [PRICING, BETA, PLAIN],
    logger: new RecordingLogger(),
  });
  managers.push(m);
  await m.initialize();
  return m;
}

const EU = { key: 'user-42', country: 'NL', app_version: '2.4.1' };

test('variation and variationDetail serve the worked example', async () => {
  const m = await manager();
  const t = m.newToggler({ flagName: 'pricing-page' });
  expect(t.variation(EU, 'x')).toBe('annual-first');
  expect(t.variationDetail(EU, 'x')).toMatchObject({
    value: 'annual-first',
    variationIndex: 1,
    variant: '1',
    reason: 'RULE_MATCH',
    ruleIndex: 0,
    ruleId: 'eu-annual',
    flagId: 42,
    userContext: 'user-42',
    source: 'bootstrap',
  });
  expect(t.variationDetail('qa-1', 'x')).toMatchObject({ value: 'monthly-first', reason: 'TARGET_MATCH' });
  expect(m.variation('pricing-page', { key: 'user-7' }, 'x')).toBe('control');
  expect(m.variationDetail('pricing-page', { key: 'user-7' }, 'x')).toMatchObject({
    reason: 'FALLTHROUGH',
    splitBucket: 16784,
  });
});

test('unknown flag, or before a ruleset: the default, with the reason', async () => {
  const m = await manager();
  expect(m.variationDetail('nope', EU, 'dflt')).toMatchObject({
    value: 'dflt',
    variationIndex: undefined,
    reason: 'FLAG_NOT_FOUND',
  });
  const cold = new FlagManager({ offline: true, appId: 1, bootstrap: [], logger: new RecordingLogger() });
  managers.push(cold);
  expect(cold.variationDetail('pricing-page', EU, 'dflt')).toMatchObject({ value: 'dflt', reason: 'NOT_READY' });
});

test('typed helpers: the served value, or the default with TYPE_MISMATCH', async () => {
  const t = (await manager()).newToggler({ flagName: 'pricing-page' });
  expect(t.stringVariation(EU, 'x')).toBe('annual-first');
  expect(t.numberVariation(EU, 7)).toBe(7);
  expect(t.numberVariationDetail(EU, 7)).toMatchObject({
    reason: 'TYPE_MISMATCH',
    variationIndex: undefined,
    flagId: 42,
  });
  expect(t.booleanVariation(EU, true)).toBe(true);
  expect(t.jsonVariation(EU, { a: 1 })).toEqual({ a: 1 });
  const plain = (await manager()).newToggler({ flagName: 'plain' });
  expect(plain.booleanVariationDetail('u', false)).toMatchObject({
    value: true,
    variant: 'on',
    reason: 'FULL_ROLLOUT',
  });
  expect(plain.stringVariationDetail('u', 'x').errorMessage).toMatch(/is a boolean/);
});

test('isFlagActive and evaluate: on when a flag serves anything but off_variation', async () => {
  const m = await manager();
  const pricing = m.newToggler({ flagName: 'pricing-page' });
  expect(pricing.isFlagActive(EU)).toBe(true);
  expect(pricing.isFlagActive({ key: 'user-7' })).toBe(false); // fallthrough split serves control (index 0)
  expect(pricing.evaluate(EU)).toMatchObject({ value: true, variant: 'on', reason: 'RULE_MATCH', variationIndex: 1 });
  const beta = m.newToggler({ flagName: 'beta' });
  expect(beta.isFlagActive({ key: 'a', country: 'NL' })).toBe(true);
  expect(beta.isFlagActive({ key: 'a', country: 'BE' })).toBe(false);
  expect(beta.isFlagActive('a')).toBe(false); // a string context has no country
});

test('the default context can carry attributes; evaluateAll takes a context', async () => {
  const m = await manager();
  m.setUserContext(EU);
  expect(m.getUserContext()).toEqual(EU);
  expect(m.newToggler({ flagName: 'pricing-page' }).variation(undefined, 'x')).toBe('annual-first');
  const all = m.evaluateAll({ key: 'a', country: 'NL' });
  expect(all.beta).toMatchObject({ value: true, reason: 'RULE_MATCH' });
  expect(all.plain).toMatchObject({ value: true, reason: 'FULL_ROLLOUT' });
  expect(() => m.setUserContext(42 as unknown as string)).toThrow(/userContext/);
});

test('trackMetric records the variation index for a flag with variations, on/off otherwise', () => {
  const recorded: string[] = [];
  const signals = {
    record: () => undefined,
    recordMetric: (_f: number, _a: number, _e: string, variant: string) => void recorded.push(variant),
  } as unknown as SignalSink;
  const parsed = parseRuleset([PRICING, BETA, PLAIN], 'test');
  if (!parsed.ok) throw parsed.error;
  const compiled = new Map(parsed.flags.map((f) => [f.title, compileFlag(f)]));
  const host: TogglerHost = {
    appId: 1,
    hashing: 'murmur3',
    signals,
    lookup: (name) => compiled.get(name),
    isReady: () => true,
    rulesetOrigin: () => 'test',
    defaultUserContext: () => '',
    flagNotFound: () => undefined,
    nonStringUserContext: () => undefined,
  };
  new Toggler(host, 'pricing-page').trackMetric('revenue', 5, EU);
  new Toggler(host, 'pricing-page').trackMetric('revenue', 5, 'qa-1');
  new Toggler(host, 'beta').trackMetric('revenue', 5, { key: 'a', country: 'NL' });
  new Toggler(host, 'plain').trackMetric('revenue', 5, 'u');
  expect(recorded).toEqual(['1', '2', 'on', 'on']);
});
