/** The live feed: an EventSource on /api/events, with its state shown in the header. */
import type { AppSummary, RulesetEvent } from './api';

export interface LiveHandlers {
  /** The stream (re)connected: the next ruleset event is a fresh start. */
  open?: () => void;
  ruleset?: (event: RulesetEvent) => void;
  apps?: (apps: AppSummary[]) => void;
  invalid?: (event: { appId: number; sequence: number; message: string }) => void;
}

export function openLive(app: number | undefined, handlers: LiveHandlers): () => void {
  const status = document.getElementById('live');
  const source = new EventSource(app === undefined ? '/api/events' : `/api/events?app=${app}`);
  const set = (text: string, state: string): void => {
    if (!status) return;
    status.textContent = text;
    status.dataset.state = state;
  };
  set('connecting…', 'connecting');
  source.addEventListener('open', () => {
    set('live', 'live');
    handlers.open?.();
  });
  source.addEventListener('error', () => set('reconnecting…', 'down'));
  source.addEventListener('ruleset', (e) => {
    set('live', 'live');
    handlers.ruleset?.(JSON.parse((e as MessageEvent<string>).data) as RulesetEvent);
  });
  // The server cannot follow the app right now (no stream yet, a lost consumer): say why.
  source.addEventListener('waiting', (e) => {
    const { reason } = JSON.parse((e as MessageEvent<string>).data) as { reason: string };
    set(`waiting: ${reason}`, 'down');
  });
  source.addEventListener('apps', (e) => handlers.apps?.(JSON.parse((e as MessageEvent<string>).data) as AppSummary[]));
  source.addEventListener('invalid', (e) =>
    handlers.invalid?.(
      JSON.parse((e as MessageEvent<string>).data) as { appId: number; sequence: number; message: string },
    ),
  );
  return () => {
    source.close();
    set('', 'off');
  };
}
