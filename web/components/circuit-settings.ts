/**
 * A flag card's circuit settings form: the breaker's numbers, status, profile and whether it
 * recovers. `base` keeps the values the form showed, sent as `expect` with the fields changed.
 */
import type { WireFlag } from '../api';
import { h, uid } from '../dom';

const CIRCUIT_NUMBERS: readonly { field: keyof WireFlag; label: string; min: number; max?: number; step: string }[] = [
  { field: 'error_threshold_percentage', label: 'Error threshold (%)', min: 0, max: 100, step: '0.1' },
  { field: 'circuit_recovery_percentage', label: 'Recovery rollout now (%)', min: 0, max: 100, step: '0.1' },
  { field: 'circuit_initial_recovery_percentage', label: 'Initial recovery (%)', min: 0, max: 100, step: '0.1' },
  { field: 'circuit_recovery_increment_percentage', label: 'Recovery increment (%)', min: 0, max: 100, step: '0.1' },
  { field: 'circuit_recovery_rate', label: 'Recovery step every (s)', min: 0, step: '1' },
  { field: 'circuit_recovery_delay', label: 'Recovery delay (s)', min: 0, step: '1' },
];

export interface SettingsForm {
  readonly form: HTMLFormElement;
  /** The values shown, by field name. */
  readonly base: Readonly<Record<string, unknown>>;
}

export function settingsForm(flag: WireFlag, onSubmit: (form: HTMLFormElement) => void): SettingsForm {
  const base: Record<string, unknown> = {};
  const id = uid(`settings-${flag.id}`);
  const inputs: HTMLElement[] = [];
  for (const spec of CIRCUIT_NUMBERS) {
    const value = flag[spec.field] as number;
    base[spec.field] = value;
    inputs.push(
      h(
        'div',
        { class: 'field' },
        h('label', { for: `${id}-${spec.field}` }, spec.label),
        h('input', {
          type: 'number',
          id: `${id}-${spec.field}`,
          name: spec.field,
          min: spec.min,
          max: spec.max,
          step: spec.step,
          value,
        }),
      ),
    );
  }
  base.circuit_status = flag.circuit_status;
  base.circuit_recovery_profile = flag.circuit_recovery_profile;
  base.is_recoverable = flag.is_recoverable;
  inputs.push(select(id, 'circuit_status', 'Circuit status', ['close', 'open', 'recovery'], flag.circuit_status));
  inputs.push(
    select(
      id,
      'circuit_recovery_profile',
      'Recovery profile',
      ['linear', 'exponential'],
      flag.circuit_recovery_profile,
    ),
  );
  inputs.push(
    h(
      'div',
      { class: 'field check' },
      h('input', {
        type: 'checkbox',
        id: `${id}-is_recoverable`,
        name: 'is_recoverable',
        checked: flag.is_recoverable,
      }),
      h('label', { for: `${id}-is_recoverable` }, 'Recovers gradually after a trip'),
    ),
  );
  const form = h(
    'form',
    {
      class: 'settings-form',
      'aria-label': `Circuit settings of ${flag.title}`,
      onsubmit: (e: Event) => {
        e.preventDefault();
        onSubmit(form);
      },
    },
    h('div', { class: 'grid' }, ...inputs),
    h('button', { type: 'submit' }, 'Save settings'),
  );
  return { form, base };
}

function select(id: string, field: string, label: string, options: string[], value: string): HTMLElement {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: `${id}-${field}` }, label),
    h(
      'select',
      { id: `${id}-${field}`, name: field },
      ...options.map((o) => h('option', { value: o, selected: o === value }, o)),
    ),
  );
}

/** The form read back: the fields that differ from `base` (and their shown values), or the bad field. */
export type SettingsEdit =
  | { readonly ok: true; readonly patch: Record<string, unknown>; readonly expect: Record<string, unknown> }
  | { readonly ok: false; readonly field: string };

export function readSettings(form: HTMLFormElement, base: Readonly<Record<string, unknown>>): SettingsEdit {
  const patch: Record<string, unknown> = {};
  const expect: Record<string, unknown> = {};
  for (const el of Array.from(form.elements)) {
    if (!(el instanceof HTMLInputElement || el instanceof HTMLSelectElement) || el.name === '') continue;
    el.removeAttribute('aria-invalid');
    let value: unknown;
    if (el instanceof HTMLInputElement && el.type === 'checkbox') value = el.checked;
    else if (el instanceof HTMLInputElement && el.type === 'number') {
      if (el.value.trim() === '' || !Number.isFinite(Number(el.value))) return { ok: false, field: el.name };
      value = Number(el.value);
    } else value = el.value;
    const before = base[el.name];
    if (value !== before) {
      patch[el.name] = value;
      expect[el.name] = before;
    }
  }
  return { ok: true, patch, expect };
}
