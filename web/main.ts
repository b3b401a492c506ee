/**
 * The dashboard page: a hash router over three views (apps, an app, a flag), each fed by the JSON
 * API and kept current by the live feed. Routes: `#/`, `#/apps/<id>`, `#/apps/<id>/flags/<id>`.
 */
import { api, ApiError, setUnauthorizedHandler, type AppState, type AppSummary, type WireFlag } from './api';
import { SignalChart, type SeriesData } from './chart';
import { h, percent, replace, show, toast, when } from './dom';
import { FlagCard } from './flag-card';
import { openLive } from './live';

const main = document.getElementById('main') as HTMLElement;
const crumbs = document.getElementById('crumbs') as HTMLElement;
let cleanup: () => void = () => undefined;

function breadcrumbs(...items: [string, string | undefined][]): void {
  replace(
    crumbs,
    h(
      'ol',
      {},
      ...items.map(([label, href], i) =>
        h(
          'li',
          {},
          href !== undefined && i < items.length - 1
            ? h('a', { href }, label)
            : h('span', { 'aria-current': 'page' }, label),
        ),
      ),
    ),
  );
}

function problem(error: unknown): HTMLElement {
  return h('p', { class: 'message error', role: 'alert' }, error instanceof Error ? error.message : String(error));
}

async function route(): Promise<void> {
  cleanup();
  cleanup = () => undefined;
  const hash = location.hash.replace(/^#/, '') || '/';
  const flagMatch = /^\/apps\/(\d+)\/flags\/(\d+)$/.exec(hash);
  const appMatch = /^\/apps\/(\d+)$/.exec(hash);
  try {
    if (flagMatch) await flagPage(Number(flagMatch[1]), Number(flagMatch[2]));
    else if (appMatch) await appPage(Number(appMatch[1]));
    else await appsPage();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(main, problem(error));
  }
}

// ---- login ---------------------------------------------------------------------------------

function loginPage(): void {
  cleanup();
  cleanup = () => undefined;
  breadcrumbs(['Log in', undefined]);
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', required: true });
  const message = h('p', { class: 'message', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'login',
      onsubmit: (e: Event) => {
        e.preventDefault();
        api('POST', '/api/login', { token: input.value })
          .then(() => {
            offerLogout();
            return route();
          })
          .catch((error: unknown) => {
            message.className = 'message error';
            message.textContent = error instanceof Error ? error.message : String(error);
            input.setAttribute('aria-invalid', 'true');
          });
      },
    },
    h('h1', {}, 'Log in'),
    h('p', {}, 'This dashboard needs its access token (the --token given to tailslide ui).'),
    h('label', { for: 'token' }, 'Token'),
    input,
    h('button', { type: 'submit' }, 'Log in'),
    message,
  );
  replace(main, form);
  input.focus();
}
setUnauthorizedHandler(loginPage);

// ---- apps ----------------------------------------------------------------------------------

async function appsPage(): Promise<void> {
  breadcrumbs(['Apps', undefined]);
  const list = h('ul', { class: 'apps', 'aria-label': 'Apps' });
  const note = h('p', { class: 'muted' });
  const renderApps = (apps: AppSummary[]): void => {
    replace(
      list,
      ...(apps.length === 0 ? [h('li', { class: 'none' }, 'No app has a ruleset in the stream yet.')] : []),
      ...apps.map((app) =>
        h(
          'li',
          { class: 'app', 'data-app-id': app.id },
          h('h2', {}, h('a', { href: `#/apps/${app.id}` }, `App ${app.id}`)),
          app.error !== undefined
            ? h('p', { class: 'message error' }, app.error)
            : h(
                'p',
                {},
                `${app.flags} flag${app.flags === 1 ? '' : 's'}, ${app.active} on`,
                app.open.length > 0
                  ? h(
                      'span',
                      { class: 'badge circuit-open' },
                      `${app.open.length} circuit open: ${app.open.join(', ')}`,
                    )
                  : null,
                app.recovering.length > 0
                  ? h(
                      'span',
                      { class: 'badge circuit-recovery' },
                      `${app.recovering.length} recovering: ${app.recovering.join(', ')}`,
                    )
                  : null,
              ),
          app.error !== undefined ? null : freshness(app),
        ),
      ),
    );
  };
  const appIdInput = h('input', { type: 'number', id: 'open-app', min: 0, step: 1, required: true });
  const openForm = h(
    'form',
    {
      class: 'inline',
      onsubmit: (e: Event) => {
        e.preventDefault();
        location.hash = `#/apps/${Number(appIdInput.value)}`;
      },
    },
    h('label', { for: 'open-app' }, 'Open or start app'),
    appIdInput,
    h('button', { type: 'submit' }, 'Open'),
  );
  replace(main, h('h1', {}, 'Apps'), note, list, openForm);
  const data = await api<{ stream: string; apps: AppSummary[] }>('GET', '/api/apps');
  note.textContent = `Stream ${data.stream}`;
  let known = new Map(data.apps.map((a) => [a.id, a]));
  renderApps([...known.values()]);
  // "updated 3 min ago" ages while the page is open.
  const aging = setInterval(() => renderApps([...known.values()].sort((a, b) => a.id - b.id)), 15_000);
  const stopLive = openLive(undefined, {
    apps: (apps) => {
      // The feed knows the apps it follows; keep ones it has not reached yet.
      known = new Map([...known, ...apps.map((a) => [a.id, a] as const)]);
      renderApps([...known.values()].sort((a, b) => a.id - b.id));
    },
  });
  cleanup = () => {
    clearInterval(aging);
    stopLive();
  };
}

/**
 * How fresh the dashboard's view of an app is: its last ruleset's age, and whether the live feed
 * follows it now (`stale` with the reason while it cannot).
 */
function freshness(app: AppSummary): HTMLElement {
  const age = `last ruleset ${ago(Date.parse(app.time))}`;
  if (app.following === 'waiting') {
    return h(
      'p',
      { class: 'freshness stale', 'data-following': 'waiting' },
      h('span', { class: 'badge stale' }, 'stale'),
      ` not following live: ${app.waiting ?? 'waiting'}; ${age}`,
    );
  }
  const live = app.following === 'live';
  return h(
    'p',
    { class: 'freshness muted', 'data-following': live ? 'live' : 'unknown', title: app.time },
    live ? `following live; ${age}` : age,
  );
}

/** `12 s ago`, `3 min ago`, `2 h ago`, `4 d ago`. */
function ago(ms: number): string {
  if (!Number.isFinite(ms)) return 'at an unknown time';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1_000));
  if (s < 60) return `${s} s ago`;
  if (s < 3_600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

// ---- one app -------------------------------------------------------------------------------

function createForm(appId: number, onCreated: (flag: WireFlag) => void): HTMLElement {
  const title = h('input', { type: 'text', id: 'new-title', required: true, autocomplete: 'off' });
  const description = h('input', { type: 'text', id: 'new-description', autocomplete: 'off' });
  const message = h('p', { class: 'message', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'create',
      'aria-label': 'New flag',
      onsubmit: (e: Event) => {
        e.preventDefault();
        message.textContent = '';
        title.removeAttribute('aria-invalid');
        api<{ flag: WireFlag }>('POST', `/api/apps/${appId}/flags`, {
          title: title.value,
          description: description.value,
        })
          .then((r) => {
            toast(`Flag ${r.flag.title} created (off, rollout 0 %)`);
            title.value = '';
            description.value = '';
            onCreated(r.flag);
          })
          .catch((error: unknown) => {
            message.className = 'message error';
            message.textContent = error instanceof Error ? error.message : String(error);
            if (error instanceof ApiError && error.body.field === 'title') title.setAttribute('aria-invalid', 'true');
          });
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'new-title' }, 'New flag title'), title),
    h('div', { class: 'field' }, h('label', { for: 'new-description' }, 'Description'), description),
    h('button', { type: 'submit' }, 'Create flag'),
    message,
  );
  return form;
}

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
    const only = changed === undefined ? undefined : new Set(changed);
    this.sequence = state.sequence;
    this.meta.textContent = `${state.flags.length} flags · ruleset #${state.sequence} (${state.subject.split('.').pop() ?? ''}) · ${when(state.time)}`;
    const seen = new Set<number>();
    let previous: Element | null = null;
    for (const flag of state.flags) {
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
    if (state.flags.length === 0) replace(this.list, h('p', { class: 'none' }, 'No flags yet.'));
    else this.list.querySelector(':scope > p.none')?.remove();
    // For the benchmark (bench/ui.mjs): when this ruleset is on screen (the frame after the DOM
    // change), on the wall clock, so that another process can compare.
    const sequence = state.sequence;
    requestAnimationFrame(() =>
      setTimeout(() => {
        if (performance.getEntriesByName('tailslide:shown').length >= 100) performance.clearMarks('tailslide:shown');
        performance.mark('tailslide:shown', { detail: { sequence, at: Date.now() } });
      }),
    );
  }
}

async function appPage(appId: number): Promise<void> {
  breadcrumbs(['Apps', '#/'], [`App ${appId}`, undefined]);
  const view = new AppView(appId);
  const filter = h('input', { type: 'search', id: 'filter', autocomplete: 'off' });
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const card of view.cards.values())
      card.el.hidden = q !== '' && !(card.el.querySelector('.flag-title')?.textContent ?? '').toLowerCase().includes(q);
  });
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
    h('div', { class: 'filter' }, h('label', { for: 'filter' }, 'Filter flags'), filter),
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
  cleanup = () => {
    stop();
    delete main.dataset.liveSequence;
    delete main.dataset.snapshotSequence;
  };
  try {
    // An older snapshot than what the live feed already gave is ignored (AppView.apply).
    const state = await api<AppState>('GET', `/api/apps/${appId}`);
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

// ---- one flag ------------------------------------------------------------------------------

interface HistoryEntry {
  sequence: number;
  subject: string;
  kind: string;
  time: string;
  baseline: boolean;
  error?: string;
  changes: {
    flagId: number;
    title: string;
    kind: string;
    fields: { field: string; before: unknown; after: unknown }[];
  }[];
}

interface History {
  entries: HistoryEntry[];
  retention?: string;
  truncated: boolean;
}

const RANGES: [string, string][] = [
  ['15m', 'Last 15 min'],
  ['1h', 'Last hour'],
  ['24h', 'Last 24 h'],
];

async function flagPage(appId: number, flagId: number): Promise<void> {
  const state = await api<AppState>('GET', `/api/apps/${appId}`);
  let flag = state.flags.find((f) => f.id === flagId);
  if (flag === undefined) throw new Error(`App ${appId} has no flag with id ${flagId}`);
  breadcrumbs(['Apps', '#/'], [`App ${appId}`, `#/apps/${appId}`], [flag.title, undefined]);
  let sequence = state.sequence;
  const card = new FlagCard(flag, { appId, link: false, onDeleted: () => (location.hash = `#/apps/${appId}`) });

  // Chart
  let range = '15m';
  const chartHost = h('div', { class: 'chart', role: 'img', 'aria-label': 'Success and failure counts over time' });
  const totals = h('p', { class: 'totals', id: 'totals', 'aria-live': 'polite' });
  const rangeButtons = RANGES.map(([value, label]) =>
    h(
      'button',
      {
        type: 'button',
        'aria-pressed': String(value === range),
        onclick: () => {
          range = value;
          rangeButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i]?.[0] === range)));
          void loadSignals();
        },
      },
      label,
    ),
  );
  const chart = new SignalChart(chartHost);
  const loadSignals = async (): Promise<void> => {
    try {
      const data = await api<
        SeriesData & { totals: { success: number; failure: number; total: number; errorRate: number } }
      >('GET', `/api/apps/${appId}/flags/${flagId}/signals?range=${range}`);
      chart.show(data);
      const t = data.totals;
      const label = RANGES.find(([v]) => v === range)?.[1] ?? range;
      totals.dataset.success = String(t.success);
      totals.dataset.failure = String(t.failure);
      totals.textContent = `${label}: ${t.success} successes, ${t.failure} failures, error rate ${(t.errorRate * 100).toFixed(1)} %`;
    } catch (error) {
      totals.textContent = `Signals unavailable: ${error instanceof Error ? error.message : String(error)}`;
    }
  };

  // Evaluate
  const userInput = h('input', { type: 'text', id: 'eval-user', autocomplete: 'off' });
  const result = h('output', { class: 'eval-result', for: 'eval-user', 'aria-live': 'polite' });
  const evalForm = h(
    'form',
    {
      class: 'inline',
      onsubmit: (e: Event) => {
        e.preventDefault();
        api<{ value: boolean; reason: string; bucket: number | null; effectiveRollout: number }>(
          'GET',
          `/api/apps/${appId}/flags/${flagId}/evaluate?user=${encodeURIComponent(userInput.value)}`,
        )
          .then((r) => {
            replace(
              result,
              h('strong', { class: r.value ? 'on' : 'off' }, r.value ? 'ON' : 'OFF'),
              ` · reason ${r.reason}`,
              r.bucket === null ? '' : ` · bucket ${r.bucket.toFixed(3)} %`,
              ` · effective rollout ${percent(r.effectiveRollout)}`,
            );
          })
          .catch((error: unknown) => replace(result, problem(error)));
      },
    },
    h('label', { for: 'eval-user' }, 'User context'),
    userInput,
    h('button', { type: 'submit' }, 'Evaluate'),
  );

  // Targeting (docs/targeting.md): shown as stored; edited with the tailslide command
  const targeting = targetingSection(flag);

  // History and circuit timeline
  const timeline = h('ol', { class: 'timeline', 'aria-label': 'Circuit timeline' });
  const historyList = h('ol', { class: 'history', 'aria-label': 'Change history' });
  const retention = h('p', { class: 'muted' });
  const loadHistory = async (): Promise<void> => {
    const hist = await api<History>('GET', `/api/apps/${appId}/history?flag=${flagId}`);
    const notes = [hist.retention, hist.truncated ? 'Only the newest part of the stream was read.' : undefined].filter(
      Boolean,
    );
    retention.textContent = notes.join(' ');
    const items: HTMLElement[] = [];
    const circuit: HTMLElement[] = [];
    for (const entry of hist.entries) {
      const source = entry.kind === 'circuit' ? 'circuit (breaker)' : entry.kind;
      if (entry.error !== undefined) {
        items.push(
          h(
            'li',
            {},
            h('time', { datetime: entry.time }, when(entry.time)),
            ` #${entry.sequence} invalid ruleset: ${entry.error}`,
          ),
        );
        continue;
      }
      for (const change of entry.changes) {
        const what =
          change.kind === 'changed'
            ? h(
                'ul',
                {},
                ...change.fields.map((f) =>
                  h('li', {}, h('code', {}, f.field), ': ', show(f.before), ' → ', show(f.after)),
                ),
              )
            : entry.baseline
              ? ' first ruleset read (no earlier message to compare with)'
              : ` flag ${change.kind}`;
        items.push(
          h('li', {}, h('time', { datetime: entry.time }, when(entry.time)), ` #${entry.sequence} ${source}`, what),
        );
        for (const f of change.fields) {
          if (f.field === 'circuit_status')
            circuit.push(
              h(
                'li',
                {},
                h('time', { datetime: entry.time }, when(entry.time)),
                ` ${show(f.before)} → ${show(f.after)} (${source})`,
              ),
            );
        }
      }
    }
    replace(historyList, ...(items.length > 0 ? items : [h('li', { class: 'none' }, 'No changes recorded.')]));
    replace(
      timeline,
      ...(circuit.length > 0
        ? circuit
        : [h('li', { class: 'none' }, `No circuit changes recorded; now ${flag?.circuit_status ?? '?'}.`)]),
    );
  };

  replace(
    main,
    h('h1', {}, flag.title),
    h('p', { class: 'muted' }, `App ${appId} · flag id ${flag.id}`),
    h(
      'div',
      { class: 'flag-page' },
      h(
        'div',
        { class: 'col' },
        card.el,
        h(
          'section',
          { 'aria-labelledby': 'eval-h' },
          h('h2', { id: 'eval-h' }, 'Evaluate for a user'),
          evalForm,
          result,
        ),
        h('section', { 'aria-labelledby': 'circuit-h' }, h('h2', { id: 'circuit-h' }, 'Circuit timeline'), timeline),
        targeting,
      ),
      h(
        'div',
        { class: 'col' },
        h(
          'section',
          { 'aria-labelledby': 'signals-h' },
          h('h2', { id: 'signals-h' }, 'Signals'),
          h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' }, ...rangeButtons),
          totals,
          chartHost,
        ),
        h(
          'section',
          { 'aria-labelledby': 'history-h' },
          h('h2', { id: 'history-h' }, 'Change history'),
          retention,
          historyList,
        ),
      ),
    ),
  );
  await Promise.all([loadSignals(), loadHistory().catch((error: unknown) => replace(historyList, problem(error)))]);
  let historyTimer = 0;
  const stopLive = openLive(appId, {
    ruleset: (event) => {
      if (event.sequence < sequence) return;
      sequence = event.sequence;
      const next = event.flags.find((f) => f.id === flagId);
      if (next === undefined) {
        toast('This flag was deleted');
        location.hash = `#/apps/${appId}`;
        return;
      }
      flag = next;
      card.update(next);
      if (event.changedIds.includes(flagId)) {
        window.clearTimeout(historyTimer);
        historyTimer = window.setTimeout(() => void loadHistory().catch(() => undefined), 200);
      }
    },
  });
  const poll = window.setInterval(() => void loadSignals(), 5_000);
  cleanup = () => {
    stopLive();
    window.clearInterval(poll);
    window.clearTimeout(historyTimer);
    chart.destroy();
  };
}

/** With a token, a "Log out" button in the header (asked beside the first view, not before it). */
/** The flag fields of the targeting extension (docs/targeting.md). */
const TARGETING_FIELDS = ['variations', 'off_variation', 'targets', 'rules', 'fallthrough'] as const;

/**
 * A flag's variations, targets, rules and fallthrough as stored, or an empty fragment for a plain
 * boolean flag. Read-only here: they are edited with `tailslide flags variations|targets|rules`.
 */
function targetingSection(flag: WireFlag): HTMLElement | DocumentFragment {
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

function offerLogout(): void {
  api<{ tokenRequired: boolean; authenticated: boolean }>('GET', '/api/session')
    .then((session) => {
      document.getElementById('logout')?.remove();
      if (!session.tokenRequired || !session.authenticated) return;
      const button = h(
        'button',
        {
          type: 'button',
          id: 'logout',
          class: 'logout',
          onclick: () => {
            api('POST', '/api/logout')
              .then(() => {
                button.remove();
                loginPage();
              })
              .catch((error: unknown) => toast(error instanceof Error ? error.message : String(error)));
          },
        },
        'Log out',
      );
      document.querySelector('header.top')?.append(button);
    })
    .catch(() => undefined);
}

async function start(): Promise<void> {
  window.addEventListener('hashchange', () => void route());
  // No session check first (one round trip less): a 401 from any call shows the login form.
  offerLogout();
  await route();
}

start().catch((error: unknown) => replace(main, problem(error)));
