/** The flag page's change history and circuit timeline, both read from the app's history. */
import { api, type HistoryEntry } from '../api';
import { h, replace, show, when } from '../dom';

export class HistoryPanel {
  readonly timeline = h('ol', { class: 'timeline', 'aria-label': 'Circuit timeline' });
  readonly list = h('ol', { class: 'history', 'aria-label': 'Change history' });
  readonly retention = h('p', { class: 'muted' });

  constructor(
    private readonly appId: number,
    private readonly flagId: number,
  ) {}

  /** Reads the history again; `circuitNow` is the flag's status, said when no change is recorded. */
  async load(circuitNow: () => string): Promise<void> {
    const hist = await api('GET /api/apps/:app/history', {
      path: { app: this.appId },
      query: { flag: this.flagId },
    });
    const notes = [hist.retention, hist.truncated ? 'Only the newest part of the stream was read.' : undefined].filter(
      Boolean,
    );
    this.retention.textContent = notes.join(' ');
    const items: HTMLElement[] = [];
    const circuit: HTMLElement[] = [];
    for (const entry of hist.entries) {
      items.push(...changeItems(entry));
      circuit.push(...circuitItems(entry));
    }
    replace(this.list, ...(items.length > 0 ? items : [h('li', { class: 'none' }, 'No changes recorded.')]));
    replace(
      this.timeline,
      ...(circuit.length > 0
        ? circuit
        : [h('li', { class: 'none' }, `No circuit changes recorded; now ${circuitNow()}.`)]),
    );
  }
}

function sourceOf(entry: HistoryEntry): string {
  return entry.kind === 'circuit' ? 'circuit (breaker)' : entry.kind;
}

function stamp(entry: HistoryEntry): HTMLElement {
  return h('time', { datetime: entry.time }, when(entry.time));
}

/** One item per change of the entry (each field before → after), or one for an invalid ruleset. */
function changeItems(entry: HistoryEntry): HTMLElement[] {
  if (entry.error !== undefined)
    return [h('li', {}, stamp(entry), ` #${entry.sequence} invalid ruleset: ${entry.error}`)];
  return entry.changes.map((change) => {
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
    return h('li', {}, stamp(entry), ` #${entry.sequence} ${sourceOf(entry)}`, what);
  });
}

/** The entry's changes of `circuit_status`, for the timeline. */
function circuitItems(entry: HistoryEntry): HTMLElement[] {
  if (entry.error !== undefined) return [];
  return entry.changes.flatMap((change) =>
    change.fields
      .filter((f) => f.field === 'circuit_status')
      .map((f) => h('li', {}, stamp(entry), ` ${show(f.before)} → ${show(f.after)} (${sourceOf(entry)})`)),
  );
}
