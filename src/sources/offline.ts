import { loadBootstrap } from './bootstrap';
import type { FlagSource, RulesetPayload, SourceSink } from './types';

/**
 * The source of `offline: true`: serves the bootstrap ruleset (an array in the wire format, or a
 * JSON file) with no connection, and rulesets pushed at run time by `manager.setRuleset`, as if
 * they came from JetStream. An unreadable or invalid bootstrap is fatal: there is nothing else.
 */
export class OfflineSource implements FlagSource {
  private sink: SourceSink | undefined;
  private sequence = 0;

  constructor(
    private readonly bootstrap: readonly unknown[] | string,
    private readonly appId: number,
    private readonly maxFileBytes: number,
  ) {}

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    const loaded = await loadBootstrap(this.bootstrap, this.appId, this.maxFileBytes);
    if (!loaded.ok) {
      sink.fatal(loaded.error);
      return;
    }
    sink.connection('connected');
    this.deliver(loaded.payload, 'bootstrap');
  }

  /** Delivers a ruleset as the next message (`setRuleset`). The caller has validated it. */
  push(ruleset: readonly unknown[]): void {
    this.deliver(ruleset, 'test-data');
  }

  close(): Promise<void> {
    this.sink = undefined;
    return Promise.resolve();
  }

  private deliver(payload: RulesetPayload, subject: 'bootstrap' | 'test-data'): void {
    this.sequence += 1;
    this.sink?.ruleset(payload, {
      sequence: this.sequence,
      subject,
      pending: 0,
      origin: subject === 'bootstrap' ? 'bootstrap' : 'test',
    });
  }
}
