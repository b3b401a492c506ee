/**
 * One flag's view (`#/apps/<id>/flags/<id>`): its card, evaluate box, circuit timeline, targeting,
 * signal chart and change history, kept current by the live feed.
 */
import { api } from '../api';
import { ChartPanel } from '../components/chart-panel';
import { evaluateSection } from '../components/evaluate';
import { HistoryPanel } from '../components/history';
import { targetingSection } from '../components/targeting';
import { h, replace, toast } from '../dom';
import { FlagCard } from '../flag-card';
import { openLive } from '../live';
import { breadcrumbs, main, onLeave, problem } from '../page';

export async function flagPage(appId: number, flagId: number): Promise<void> {
  const state = await api('GET /api/apps/:app', { path: { app: appId } });
  let flag = state.flags.find((f) => f.id === flagId);
  if (flag === undefined) throw new Error(`App ${appId} has no flag with id ${flagId}`);
  breadcrumbs(['Apps', '#/'], [`App ${appId}`, `#/apps/${appId}`], [flag.title, undefined]);
  let sequence = state.sequence;
  const card = new FlagCard(flag, { appId, link: false, onDeleted: () => (location.hash = `#/apps/${appId}`) });
  const chart = new ChartPanel(appId, flagId);
  const history = new HistoryPanel(appId, flagId);
  const loadHistory = (): Promise<void> => history.load(() => flag?.circuit_status ?? '?');
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
        evaluateSection(appId, flagId),
        h(
          'section',
          { 'aria-labelledby': 'circuit-h' },
          h('h2', { id: 'circuit-h' }, 'Circuit timeline'),
          history.timeline,
        ),
        targetingSection(flag),
      ),
      h(
        'div',
        { class: 'col' },
        chart.el,
        h(
          'section',
          { 'aria-labelledby': 'history-h' },
          h('h2', { id: 'history-h' }, 'Change history'),
          history.retention,
          history.list,
        ),
      ),
    ),
  );
  await Promise.all([chart.load(), loadHistory().catch((error: unknown) => replace(history.list, problem(error)))]);
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
  const poll = window.setInterval(() => void chart.load(), 5_000);
  onLeave(() => {
    stopLive();
    window.clearInterval(poll);
    window.clearTimeout(historyTimer);
    chart.destroy();
  });
}
