/** One app's view (`#/apps/<id>`): a card per flag, a form for a new flag, a filter box. */
import { api, ApiError, type AppState, type WireFlag } from '../api';
import { h, replace, toast, when } from '../dom';
import { FlagCard } from '../flag-card';
import { openLive } from '../live';
import { breadcrumbs, errorText, main, onLeave } from '../page';

export async function appPage(appId: number): Promise<void> {
  breadcrumbs(['Apps', '#/'], [`App ${appId}`, undefined]);
  const view = new AppView(appId);
  replace(
    main,
    h('h1', {}, `App ${appId}`),
    view.meta,
    h(
      'details',
      { class: 'create-box' },
      h('summary', {}, 'New flag'),
      createForm(appId, () => undefined),
    ),
    h('div', { class: 'filter' }, h('label', { for: 'filter' }, 'Filter flags'), filterBox(view)),
    view.list,
  );
  // The first event after (re)connecting, and the first after the GET below, compare every card;
  // later ones touch only the flags the server says changed.
  let fresh = true;
  const stop = openLive(appId, {
    open: () => (fresh = true),
    ruleset: (event) => {
      view.apply(event, fresh || event.initial ? undefined : event.changedIds);
      fresh = false;
      main.dataset.liveSequence = String(event.sequence);
      if (performance.getEntriesByName('tailslide:live').length >= 100) performance.clearMarks('tailslide:live');
      performance.mark('tailslide:live', { detail: { sequence: event.sequence } });
    },
    invalid: (e) => toast(`Ruleset #${e.sequence} is invalid: ${e.message}`),
  });
  onLeave(() => {
    stop();
    delete main.dataset.liveSequence;
    delete main.dataset.snapshotSequence;
  });
  try {
    // An older snapshot than what the live feed already gave is ignored (AppView.apply).
    const state = await api('GET /api/apps/:app', { path: { app: appId } });
    view.apply(state);
    main.dataset.snapshotSequence = String(state.sequence);
    fresh = true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      view.meta.textContent = error.message;
      replace(view.list, h('p', { class: 'none' }, 'No flags yet: create the first one above.'));
    } else throw error;
  }
}

function filterBox(view: AppView): HTMLInputElement {
  const filter = h('input', { type: 'search', id: 'filter', autocomplete: 'off' });
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const card of view.cards.values())
      card.el.hidden = q !== '' && !(card.el.querySelector('.flag-title')?.textContent ?? '').toLowerCase().includes(q);
  });
  return filter;
}

function createForm(appId: number, onCreated: (flag: WireFlag) => void): HTMLElement {
  const title = h('input', { type: 'text', id: 'new-title', required: true, autocomplete: 'off' });
  const description = h('input', { type: 'text', id: 'new-description', autocomplete: 'off' });
  const message = h('p', { class: 'message', role: 'alert' });
  const submit = (e: Event): void => {
    e.preventDefault();
    message.textContent = '';
    title.removeAttribute('aria-invalid');
    api('POST /api/apps/:app/flags', {
      path: { app: appId },
      body: { title: title.value, description: description.value },
    })
      .then((r) => {
        toast(`Flag ${r.flag.title} created (off, rollout 0 %)`);
        title.value = '';
        description.value = '';
        onCreated(r.flag);
      })
      .catch((error: unknown) => {
        message.className = 'message error';
        message.textContent = errorText(error);
        if (error instanceof ApiError && error.body.field === 'title') title.setAttribute('aria-invalid', 'true');
      });
  };
  return h(
    'form',
    { class: 'create', 'aria-label': 'New flag', onsubmit: submit },
    h('div', { class: 'field' }, h('label', { for: 'new-title' }, 'New flag title'), title),
    h('div', { class: 'field' }, h('label', { for: 'new-description' }, 'Description'), description),
    h('button', { type: 'submit' }, 'Create flag'),
    message,
  );
}

/** The app's cards, in ruleset order; a new ruleset touches only the cards that changed. */
class AppView {
  sequence = 0;
  readonly cards = new Map<number, FlagCard>();
  readonly list = h('div', { class: 'flags' });
  readonly meta = h('p', { class: 'muted' });

  constructor(readonly appId: number) {}

  /**
   * Shows a ruleset. `changed`: ids of the flags that differ from the previous event (the server's
   * diff); other cards are left alone. Without it every card compares its flag.
   */
  apply(state: AppState, changed?: readonly number[]): void {
    if (state.sequence < this.sequence) return;
    this.sequence = state.sequence;
    this.meta.textContent = `${state.flags.length} flags · ruleset #${state.sequence} (${state.subject.split('.').pop() ?? ''}) · ${when(state.time)}`;
    this.place(state.flags, changed === undefined ? undefined : new Set(changed));
    if (state.flags.length === 0) replace(this.list, h('p', { class: 'none' }, 'No flags yet.'));
    else this.list.querySelector(':scope > p.none')?.remove();
    markShown(state.sequence);
  }

  /** Puts a card per flag in order (creating, updating the `only` ones, moving), drops the rest. */
  private place(flags: readonly WireFlag[], only: ReadonlySet<number> | undefined): void {
    const seen = new Set<number>();
    let previous: Element | null = null;
    for (const flag of flags) {
      seen.add(flag.id);
      let card = this.cards.get(flag.id);
      if (card === undefined) {
        card = new FlagCard(flag, { appId: this.appId, link: true });
        this.cards.set(flag.id, card);
      } else if (only === undefined || only.has(flag.id)) card.update(flag);
      const expected: Element | null = previous === null ? this.list.firstElementChild : previous.nextElementSibling;
      if (expected !== card.el) {
        if (previous === null) this.list.prepend(card.el);
        else previous.after(card.el);
      }
      previous = card.el;
    }
    for (const [id, card] of this.cards) {
      if (!seen.has(id)) {
        card.el.remove();
        this.cards.delete(id);
      }
    }
  }
}

/**
 * For the benchmark (bench/ui.mjs): when this ruleset is on screen (the frame after the DOM
 * change), on the wall clock, so that another process can compare.
 */
function markShown(sequence: number): void {
  requestAnimationFrame(() =>
    setTimeout(() => {
      if (performance.getEntriesByName('tailslide:shown').length >= 100) performance.clearMarks('tailslide:shown');
      performance.mark('tailslide:shown', { detail: { sequence, at: Date.now() } });
    }),
  );
}
