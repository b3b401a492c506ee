/** The apps view (`#/`): every app with a ruleset, kept current by the live feed. */
import { api, type AppSummary, type UnreadableApp } from '../api';
import { h, replace } from '../dom';
import { openLive } from '../live';
import { breadcrumbs, main, onLeave } from '../page';

type Listed = AppSummary | UnreadableApp;

export async function appsPage(): Promise<void> {
  breadcrumbs(['Apps', undefined]);
  const list = h('ul', { class: 'apps', 'aria-label': 'Apps' });
  const note = h('p', { class: 'muted' });
  replace(main, h('h1', {}, 'Apps'), note, list, openForm());
  const data = await api('GET /api/apps');
  note.textContent = `Stream ${data.stream}`;
  let known = new Map<number, Listed>(data.apps.map((a) => [a.id, a]));
  const render = (): void =>
    renderApps(
      list,
      [...known.values()].sort((a, b) => a.id - b.id),
    );
  renderApps(list, [...known.values()]);
  // "updated 3 min ago" ages while the page is open.
  const aging = setInterval(render, 15_000);
  const stopLive = openLive(undefined, {
    apps: (apps) => {
      // The feed knows the apps it follows; keep ones it has not reached yet.
      known = new Map([...known, ...apps.map((a) => [a.id, a] as const)]);
      render();
    },
  });
  onLeave(() => {
    clearInterval(aging);
    stopLive();
  });
}

function openForm(): HTMLFormElement {
  const appIdInput = h('input', { type: 'number', id: 'open-app', min: 0, step: 1, required: true });
  return h(
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
}

function renderApps(list: HTMLElement, apps: readonly Listed[]): void {
  replace(
    list,
    ...(apps.length === 0 ? [h('li', { class: 'none' }, 'No app has a ruleset in the stream yet.')] : []),
    ...apps.map((app) =>
      h(
        'li',
        { class: 'app', 'data-app-id': app.id },
        h('h2', {}, h('a', { href: `#/apps/${app.id}` }, `App ${app.id}`)),
        ...('error' in app ? [h('p', { class: 'message error' }, app.error)] : [counts(app), freshness(app)]),
      ),
    ),
  );
}

function counts(app: AppSummary): HTMLElement {
  return h(
    'p',
    {},
    `${app.flags} flag${app.flags === 1 ? '' : 's'}, ${app.active} on`,
    app.open.length > 0
      ? h('span', { class: 'badge circuit-open' }, `${app.open.length} circuit open: ${app.open.join(', ')}`)
      : null,
    app.recovering.length > 0
      ? h(
          'span',
          { class: 'badge circuit-recovery' },
          `${app.recovering.length} recovering: ${app.recovering.join(', ')}`,
        )
      : null,
  );
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
