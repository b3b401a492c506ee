/** A flag's targeting (docs/targeting.md), shown as stored: it is edited with the tailslide command. */
import type { WireFlag } from '../api';
import { h } from '../dom';

/** The flag fields of the targeting extension. */
const TARGETING_FIELDS = ['variations', 'off_variation', 'targets', 'rules', 'fallthrough'] as const;

/**
 * A flag's variations, targets, rules and fallthrough as stored, or an empty fragment for a plain
 * boolean flag. Read-only here: they are edited with `tailslide flags variations|targets|rules`.
 */
export function targetingSection(flag: WireFlag): HTMLElement | DocumentFragment {
  const fields = TARGETING_FIELDS.filter((field) => flag[field] !== undefined && flag[field] !== null);
  if (fields.length === 0) return document.createDocumentFragment();
  const shown = Object.fromEntries(fields.map((field) => [field, flag[field]]));
  return h(
    'section',
    { 'aria-labelledby': 'targeting-h' },
    h('h2', { id: 'targeting-h' }, 'Targeting'),
    h(
      'p',
      { class: 'muted' },
      'Variations, targets and rules, as stored. Edit them with ',
      h('code', {}, `tailslide flags variations|targets|rules ${flag.title} --app-id ${flag.app_id}`),
      '.',
    ),
    h('pre', { class: 'targeting', 'aria-label': 'Targeting of the flag' }, JSON.stringify(shown, null, 2)),
  );
}
