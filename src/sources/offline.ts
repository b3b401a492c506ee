import { readFile } from 'node:fs/promises';
import { InvalidOptionError } from '../errors';
import { parseRulesetPayload } from '../ruleset/parse';
import type { FlagSource, SourceSink } from './types';

/**
 * Serves a bootstrap ruleset (an array in the wire format, or a JSON file) with no connection,
 * and rulesets pushed at run time by tests (`manager.setRuleset`), as if they came from JetStream.
 */
export class OfflineSource implements FlagSource {
  private sink: SourceSink | undefined;
  private sequence = 0;

  constructor(
    private readonly bootstrap: readonly unknown[] | string,
    private readonly appId: number,
  ) {}

  async start(sink: SourceSink): Promise<void> {
    this.sink = sink;
    const origin = typeof this.bootstrap === 'string' ? `bootstrap file ${this.bootstrap}` : 'bootstrap';
    let payload: unknown = this.bootstrap;
    if (typeof this.bootstrap === 'string') {
      try {
        payload = await readFile(this.bootstrap, 'utf8');
      } catch (err) {
        sink.fatal(
          new InvalidOptionError('bootstrap', this.bootstrap, `a readable JSON file (${(err as Error).message})`),
        );
        return;
      }
    }
    const result = parseRulesetPayload(payload, origin, { appId: this.appId });
    if (!result.ok) {
      sink.fatal(result.error);
      return;
    }
    sink.connection('connected');
    this.push(payload, 'bootstrap');
  }

  /** Delivers a ruleset as the next message. The caller has validated it. */
  push(ruleset: unknown, subject = 'test-data'): void {
    this.sequence += 1;
    this.sink?.ruleset(ruleset, { sequence: this.sequence, subject });
  }

  close(): Promise<void> {
    this.sink = undefined;
    return Promise.resolve();
  }
}
