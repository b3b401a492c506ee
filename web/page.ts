/** The page's shell, shared by every view: the main area, the breadcrumbs and the view's cleanup. */
import { h, replace } from './dom';

export const main = document.getElementById('main') as HTMLElement;
const crumbs = document.getElementById('crumbs') as HTMLElement;
let cleanup: () => void = () => undefined;

/** Ends what the current view started (its live feed, its timers) before the next one shows. */
export function leaveView(): void {
  cleanup();
  cleanup = () => undefined;
}

/** What `leaveView` runs for the view now showing. */
export function onLeave(fn: () => void): void {
  cleanup = fn;
}

export function breadcrumbs(...items: [string, string | undefined][]): void {
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

export function problem(error: unknown): HTMLElement {
  return h('p', { class: 'message error', role: 'alert' }, errorText(error));
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
