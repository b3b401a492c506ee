/** The flag page's signals section: range buttons, the totals in words and the chart, polled. */
import { api } from '../api';
import { SignalChart } from '../chart';
import { h } from '../dom';
import { errorText } from '../page';

type Range = '15m' | '1h' | '24h';

const RANGES: readonly [Range, string][] = [
  ['15m', 'Last 15 min'],
  ['1h', 'Last hour'],
  ['24h', 'Last 24 h'],
];

export class ChartPanel {
  readonly el: HTMLElement;
  private range: Range = '15m';
  private readonly chart: SignalChart;
  private readonly totals = h('p', { class: 'totals', id: 'totals', 'aria-live': 'polite' });

  constructor(
    private readonly appId: number,
    private readonly flagId: number,
  ) {
    const host = h('div', { class: 'chart', role: 'img', 'aria-label': 'Success and failure counts over time' });
    const buttons: HTMLButtonElement[] = RANGES.map(([value, label]) =>
      h(
        'button',
        {
          type: 'button',
          'aria-pressed': String(value === this.range),
          onclick: () => {
            this.range = value;
            buttons.forEach((b, i) => b.setAttribute('aria-pressed', String(RANGES[i]?.[0] === this.range)));
            void this.load();
          },
        },
        label,
      ),
    );
    this.chart = new SignalChart(host);
    this.el = h(
      'section',
      { 'aria-labelledby': 'signals-h' },
      h('h2', { id: 'signals-h' }, 'Signals'),
      h('div', { class: 'ranges', role: 'group', 'aria-label': 'Time range' }, ...buttons),
      this.totals,
      host,
    );
  }

  /** Reads the range shown; a failure is said in the totals line, never thrown. */
  async load(): Promise<void> {
    const range = this.range;
    try {
      const data = await api('GET /api/apps/:app/flags/:flag/signals', {
        path: { app: this.appId, flag: this.flagId },
        query: { range },
      });
      this.chart.show(data);
      const t = data.totals;
      const label = RANGES.find(([v]) => v === range)?.[1] ?? range;
      this.totals.dataset.success = String(t.success);
      this.totals.dataset.failure = String(t.failure);
      this.totals.textContent = `${label}: ${t.success} successes, ${t.failure} failures, error rate ${(t.errorRate * 100).toFixed(1)} %`;
    } catch (error) {
      this.totals.textContent = `Signals unavailable: ${errorText(error)}`;
    }
  }

  destroy(): void {
    this.chart.destroy();
  }
}
