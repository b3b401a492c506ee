/** The flag page's "Evaluate for a user" section: the server's evaluator on the current ruleset. */
import { api } from '../api';
import { h, percent, replace } from '../dom';
import { problem } from '../page';

export function evaluateSection(appId: number, flagId: number): HTMLElement {
  const userInput = h('input', { type: 'text', id: 'eval-user', autocomplete: 'off' });
  const result = h('output', { class: 'eval-result', for: 'eval-user', 'aria-live': 'polite' });
  const submit = (e: Event): void => {
    e.preventDefault();
    api('GET /api/apps/:app/flags/:flag/evaluate', {
      path: { app: appId, flag: flagId },
      query: { user: userInput.value },
    })
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
  };
  return h(
    'section',
    { 'aria-labelledby': 'eval-h' },
    h('h2', { id: 'eval-h' }, 'Evaluate for a user'),
    h(
      'form',
      { class: 'inline', onsubmit: submit },
      h('label', { for: 'eval-user' }, 'User context'),
      userInput,
      h('button', { type: 'submit' }, 'Evaluate'),
    ),
    result,
  );
}
