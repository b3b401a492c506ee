/** The live feed: an EventSource on /api/events, with its state shown in the header. */
import type { LiveEvents } from './api';

export interface LiveHandlers {
  /** The stream (re)connected: the next ruleset event is a fresh start. */
  open?: () => void;
  ruleset?: (event: LiveEvents['ruleset']) => void;
  apps?: (apps: LiveEvents['apps']) => void;
  invalid?: (event: LiveEvents['invalid']) => void;
}

/** An event's data as the contract types it: the server sends it with the same types. */
function data<E extends keyof LiveEvents>(_event: E, e: Event): LiveEvents[E] {
  return JSON.parse((e as MessageEvent<string>).data) as LiveEvents[E];
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
    handlers.ruleset?.(data('ruleset', e));
  });
  // The server cannot follow the app right now (no stream yet, a lost consumer): say why.
  source.addEventListener('waiting', (e) => set(`waiting: ${data('waiting', e).reason}`, 'down'));
  source.addEventListener('apps', (e) => handlers.apps?.(data('apps', e)));
  source.addEventListener('invalid', (e) => handlers.invalid?.(data('invalid', e)));
  return () => {
    source.close();
    set('', 'off');
  };
}
