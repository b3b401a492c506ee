/** The signal chart (uPlot, bundled): success and failure counts per bucket, and the error rate. */
import uPlot from 'uplot';
import type { SignalsResponse } from './api';

export type SeriesData = Pick<SignalsResponse, 'bucketMs' | 'buckets'>;

export class SignalChart {
  private plot: uPlot | undefined;
  private readonly observer: ResizeObserver;

  constructor(private readonly host: HTMLElement) {
    this.observer = new ResizeObserver(() => this.plot?.setSize(this.size()));
    this.observer.observe(host);
  }

  private size(): { width: number; height: number } {
    return { width: Math.max(240, this.host.clientWidth), height: this.host.clientWidth < 500 ? 200 : 260 };
  }

  show(data: SeriesData): void {
    const xs = data.buckets.map((b) => b[0] / 1000);
    const success = data.buckets.map((b) => b[1]);
    const failure = data.buckets.map((b) => b[2]);
    const rate = data.buckets.map((b) => (b[1] + b[2] === 0 ? null : (100 * b[2]) / (b[1] + b[2])));
    const aligned: uPlot.AlignedData = [xs, success, failure, rate];
    if (this.plot) {
      this.plot.setData(aligned);
      return;
    }
    const opts: uPlot.Options = {
      ...this.size(),
      scales: { x: { time: true }, n: { auto: true }, pct: { auto: false, range: [0, 100] } },
      axes: [
        {},
        { scale: 'n', label: 'count per bucket' },
        { scale: 'pct', side: 1, label: 'error rate %', grid: { show: false } },
      ],
      series: [
        {},
        { label: 'Success', scale: 'n', stroke: '#1a7f37', fill: 'rgba(26,127,55,0.12)', width: 2 },
        { label: 'Failure', scale: 'n', stroke: '#cf222e', fill: 'rgba(207,34,46,0.12)', width: 2 },
        { label: 'Error rate', scale: 'pct', stroke: '#8250df', width: 1.5, dash: [6, 4], spanGaps: false },
      ],
    };
    this.plot = new uPlot(opts, aligned, this.host);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot?.destroy();
    this.plot = undefined;
  }
}
