/**
 * One flag's controls: on/off switch, rollout (slider + number, 0.1 % steps), whitelist editor,
 * circuit settings, delete. Every edit sends the values the card showed as `expect`: the server
 * refuses it when the flag changed elsewhere, and the card then shows the current state.
 */
import { api, ApiError, type WireFlag } from './api';
import { readSettings, settingsForm } from './components/circuit-settings';
import { confirmAction } from './components/confirm';
import { h, percent, replace, show, toast, uid } from './dom';

export interface CardOptions {
  readonly appId: number;
  /** Link the title to the flag's page (the app page does). */
  readonly link: boolean;
  readonly onDeleted?: (flag: WireFlag) => void;
}

export class FlagCard {
  readonly el: HTMLElement;
  private flag: WireFlag;
  private readonly opts: CardOptions;
  private readonly titleEl: HTMLElement;
  private readonly badge: HTMLElement;
  private readonly desc: HTMLElement;
  private readonly toggle: HTMLButtonElement;
  private readonly slider: HTMLInputElement;
  private readonly number: HTMLInputElement;
  private readonly users: HTMLUListElement;
  private readonly userInput: HTMLInputElement;
  private readonly message: HTMLElement;
  private readonly details: HTMLDetailsElement;
  /** Rollout being edited: the value shown when the edit began. */
  private rolloutBase: number | undefined;
  private rolloutSending = false;
  private rolloutQueued: number | undefined;
  /** The circuit settings as the open form showed them. */
  private settingsBase: Readonly<Record<string, unknown>> | undefined;

  constructor(flag: WireFlag, opts: CardOptions) {
    this.flag = flag;
    this.opts = opts;
    const id = uid(`flag-${flag.id}`);
    this.titleEl = h('h3', { class: 'flag-title', id: `${id}-title` });
    this.badge = h('span', { class: 'badge' });
    this.desc = h('p', { class: 'desc' });
    this.toggle = h('button', { type: 'button', role: 'switch', class: 'switch', onclick: () => void this.flip() });
    this.slider = h('input', {
      type: 'range',
      min: 0,
      max: 100,
      step: '0.1',
      id: `${id}-slider`,
      oninput: () => this.rolloutInput(this.slider.value),
      onchange: () => void this.commitRollout(),
    });
    this.number = h('input', {
      type: 'number',
      min: 0,
      max: 100,
      step: '0.1',
      inputmode: 'decimal',
      id: `${id}-number`,
      class: 'rollout-number',
      oninput: () => this.rolloutInput(this.number.value),
      onchange: () => void this.commitRollout(),
      onkeydown: (e: Event) => {
        if ((e as KeyboardEvent).key === 'Escape') this.resetRollout();
      },
    });
    this.users = h('ul', { class: 'users', 'aria-label': `Whitelisted users of ${flag.title}` });
    this.userInput = h('input', { type: 'text', id: `${id}-user`, autocomplete: 'off', placeholder: 'user id' });
    this.message = h('p', { class: 'message', role: 'alert' });
    this.details = h('details', { class: 'settings', ontoggle: () => this.renderSettings() });
    const addForm = h(
      'form',
      {
        class: 'add-user',
        onsubmit: (e: Event) => {
          e.preventDefault();
          void this.addUsers();
        },
      },
      h('label', { for: `${id}-user`, class: 'visually-hidden', id: `${id}-user-label` }),
      this.userInput,
      h('button', { type: 'submit', id: `${id}-add` }, 'Add'),
    );
    this.el = h(
      'article',
      { class: 'flag', 'data-flag-id': flag.id, 'aria-labelledby': `${id}-title` },
      h('div', { class: 'flag-head' }, this.titleEl, this.badge, this.toggle),
      this.desc,
      h(
        'div',
        { class: 'rollout' },
        h('label', { for: `${id}-slider`, id: `${id}-slider-label` }),
        this.slider,
        h('label', { for: `${id}-number`, class: 'visually-hidden', id: `${id}-number-label` }),
        this.number,
        h('span', { 'aria-hidden': 'true' }, '%'),
      ),
      h('div', { class: 'whitelist' }, h('span', { class: 'field-label' }, 'Whitelist'), this.users, addForm),
      this.details,
      h(
        'div',
        { class: 'flag-foot' },
        h('button', { type: 'button', class: 'danger', id: `${id}-delete`, onclick: () => void this.confirmDelete() }),
      ),
      this.message,
    );
    this.render();
  }

  get id(): number {
    return this.flag.id;
  }

  /** A newer state of the flag (from the live feed): shown, except in controls being edited. */
  update(flag: WireFlag): void {
    const before = this.flag;
    this.flag = flag;
    if (JSON.stringify(before) !== JSON.stringify(flag)) this.render();
  }

  private render(): void {
    const f = this.flag;
    const title = f.title;
    const id = this.slider.id.replace(/-slider$/, '');
    if (this.opts.link) {
      replace(this.titleEl, h('a', { href: `#/apps/${this.opts.appId}/flags/${f.id}` }, title));
    } else replace(this.titleEl, title);
    this.badge.className = `badge circuit-${f.circuit_status}`;
    this.badge.textContent =
      f.circuit_status === 'open'
        ? f.is_active
          ? 'on; circuit field says open'
          : 'circuit open'
        : f.circuit_status === 'recovery'
          ? `recovering ${percent(f.circuit_recovery_percentage)}`
          : '';
    this.badge.hidden = f.circuit_status === 'close';
    this.desc.textContent = f.description;
    this.desc.hidden = f.description === '';
    this.toggle.setAttribute('aria-checked', String(f.is_active));
    this.toggle.setAttribute('aria-label', `Enable ${title}`);
    replace(
      this.toggle,
      h('span', { class: 'knob', 'aria-hidden': 'true' }),
      h('span', { 'aria-hidden': 'true' }, f.is_active ? 'On' : 'Off'),
    );
    const label = (suffix: string): HTMLElement | null => this.el.querySelector(`#${id}-${suffix}`);
    const sliderLabel = label('slider-label');
    if (sliderLabel) replace(sliderLabel, 'Rollout', h('span', { class: 'visually-hidden' }, ` of ${title}`));
    const numberLabel = label('number-label');
    if (numberLabel) numberLabel.textContent = `Rollout of ${title} in percent`;
    const userLabel = label('user-label');
    if (userLabel) userLabel.textContent = `Add users to the whitelist of ${title}`;
    label('add')?.setAttribute('aria-label', `Add to the whitelist of ${title}`);
    const del = label('delete');
    if (del) {
      del.textContent = 'Delete…';
      del.setAttribute('aria-label', `Delete flag ${title}`);
    }
    if (this.rolloutBase === undefined) {
      this.slider.value = String(f.rollout_percentage);
      this.number.value = String(f.rollout_percentage);
    }
    this.users.setAttribute('aria-label', `Whitelisted users of ${title}`);
    const list = splitUsers(f.white_listed_users);
    replace(
      this.users,
      ...(list.length === 0
        ? [h('li', { class: 'none' }, 'nobody')]
        : list.map((user) =>
            h(
              'li',
              {},
              h('span', {}, user),
              h(
                'button',
                {
                  type: 'button',
                  class: 'remove',
                  'aria-label': `Remove ${user} from the whitelist of ${title}`,
                  onclick: () => void this.removeUser(user),
                },
                '×',
              ),
            ),
          )),
    );
    this.el.classList.toggle('inactive', !f.is_active);
    if (!this.details.querySelector('summary')) this.details.append(h('summary', {}, 'Circuit settings'));
    if (this.details.open && this.settingsBase === undefined) this.renderSettings();
  }

  private rolloutInput(text: string): void {
    if (this.rolloutBase === undefined) this.rolloutBase = this.flag.rollout_percentage;
    if (document.activeElement !== this.number) this.number.value = text;
    if (document.activeElement !== this.slider && text !== '' && Number.isFinite(Number(text)))
      this.slider.value = text;
  }

  private resetRollout(): void {
    this.rolloutBase = undefined;
    this.render();
  }

  /**
   * Sends the rollout typed or slid to. While one is on its way, later values wait and go next,
   * each expecting the value sent before it (quick arrow keys on the slider are not a conflict).
   */
  private async commitRollout(): Promise<void> {
    const raw = this.number.value.trim();
    const value = Math.round(Number(raw) * 10) / 10;
    if (raw === '' || !Number.isFinite(value) || value < 0 || value > 100) {
      this.fail('rollout_percentage', `Rollout must be a number from 0 to 100, got ${JSON.stringify(raw)}`);
      return;
    }
    this.slider.value = String(value);
    this.number.value = String(value);
    if (this.rolloutSending) {
      this.rolloutQueued = value;
      return;
    }
    this.rolloutSending = true;
    let base = this.rolloutBase ?? this.flag.rollout_percentage;
    let next: number | undefined = value;
    let ok = true;
    while (next !== undefined && ok) {
      const sent: number = next;
      ok = await this.send(
        { rollout_percentage: sent },
        { rollout_percentage: base },
        `Rollout of ${this.flag.title} set to ${percent(sent)}`,
      );
      base = sent;
      next = this.rolloutQueued;
      this.rolloutQueued = undefined;
      if (next === sent) next = undefined;
    }
    this.rolloutSending = false;
    this.rolloutBase = undefined;
    if (!ok) this.render();
  }

  private async flip(): Promise<void> {
    // One switch request at a time: a second click before the answer would expect a stale state.
    if (this.toggle.getAttribute('aria-busy') === 'true') return;
    const now = this.flag.is_active;
    this.toggle.setAttribute('aria-busy', 'true');
    await this.send({ is_active: !now }, { is_active: now }, `${this.flag.title} turned ${now ? 'off' : 'on'}`);
    this.toggle.removeAttribute('aria-busy');
  }

  private async addUsers(): Promise<void> {
    const add = this.userInput.value.split(/[\s,]+/).filter((u) => u !== '');
    if (add.length === 0) {
      this.fail('white_listed_users', 'Type a user id to add');
      return;
    }
    const current = this.flag.white_listed_users;
    const list = splitUsers(current);
    for (const user of add) if (!list.includes(user)) list.push(user);
    if (
      await this.send(
        { white_listed_users: list.join(',') },
        { white_listed_users: current },
        `Whitelist of ${this.flag.title} updated`,
      )
    )
      this.userInput.value = '';
  }

  private async removeUser(user: string): Promise<void> {
    const current = this.flag.white_listed_users;
    const list = splitUsers(current).filter((u) => u !== user);
    await this.send(
      { white_listed_users: list.join(',') },
      { white_listed_users: current },
      `${user} removed from the whitelist of ${this.flag.title}`,
    );
  }

  private renderSettings(): void {
    if (!this.details.open) {
      this.settingsBase = undefined;
      return;
    }
    const { form, base } = settingsForm(this.flag, (shown) => void this.saveSettings(shown));
    this.settingsBase = base;
    const summary = this.details.querySelector('summary');
    replace(this.details, summary, form);
  }

  private async saveSettings(form: HTMLFormElement): Promise<void> {
    const edit = readSettings(form, this.settingsBase ?? {});
    if (!edit.ok) {
      this.fail(edit.field, `${edit.field} must be a number`);
      return;
    }
    if (Object.keys(edit.patch).length === 0) {
      toast('Nothing to save');
      return;
    }
    if (await this.send(edit.patch, edit.expect, `Circuit settings of ${this.flag.title} saved`)) {
      this.settingsBase = undefined;
      this.renderSettings();
    }
  }

  private async confirmDelete(): Promise<void> {
    const title = this.flag.title;
    const yes = await confirmAction(
      `Delete flag ${title}?`,
      'Services stop seeing it at once (it evaluates to off). This cannot be undone.',
      `Delete ${title}`,
    );
    if (!yes) return;
    try {
      await api('DELETE /api/apps/:app/flags/:flag', { path: { app: this.opts.appId, flag: this.flag.id } });
      toast(`Flag ${title} deleted`);
      this.opts.onDeleted?.(this.flag);
    } catch (error) {
      this.showError(error);
    }
  }

  /** Sends a guarded edit; true when applied. Shows conflicts and field errors on the card. */
  private async send(patch: Record<string, unknown>, expect: Record<string, unknown>, done: string): Promise<boolean> {
    this.message.textContent = '';
    this.message.className = 'message';
    this.el.querySelectorAll('[aria-invalid]').forEach((el) => el.removeAttribute('aria-invalid'));
    try {
      const result = await api('PATCH /api/apps/:app/flags/:flag', {
        path: { app: this.opts.appId, flag: this.flag.id },
        body: { patch, expect },
      });
      this.update(result.flag);
      toast(done);
      return true;
    } catch (error) {
      this.showError(error);
      return false;
    }
  }

  private showError(error: unknown): void {
    if (error instanceof ApiError && error.body.code === 'CHANGED' && error.body.current) {
      const current = error.body.current;
      const fields = error.body.fields ?? [];
      const now = fields.map((field) => `${field} is now ${show(current[field])}`).join(', ');
      this.rolloutBase = undefined;
      this.settingsBase = undefined;
      this.update(current);
      this.render();
      this.message.className = 'message conflict';
      this.message.textContent = `Changed elsewhere: ${now}. Your edit was not applied; this shows the current state.`;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    const field = error instanceof ApiError ? error.body.field : undefined;
    this.fail(field, message);
  }

  private fail(field: string | undefined, message: string): void {
    this.message.className = 'message error';
    this.message.textContent = message;
    if (field === undefined) return;
    const target =
      field === 'rollout_percentage'
        ? this.number
        : field === 'white_listed_users'
          ? this.userInput
          : this.el.querySelector<HTMLElement>(`[name="${CSS.escape(field)}"]`);
    target?.setAttribute('aria-invalid', 'true');
  }
}

export function splitUsers(text: string): string[] {
  return text
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
}
