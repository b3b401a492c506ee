/**
 * Where the command writes: results to stdout (tables, or JSON with `--json`), notes, warnings and
 * errors to stderr. The only module besides the demo's live view that touches process streams.
 */
import type { Logger } from '../../logger';
import { redactText } from '../../util/redact';

export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

export const processStreams: Streams = { stdout: process.stdout, stderr: process.stderr };

export class Output {
  constructor(
    /** `--json`: results as JSON on stdout, nothing else on stdout. */
    readonly json: boolean,
    private readonly streams: Streams = processStreams,
  ) {}

  /** Whether stdout is a terminal (the demo redraws in place only then). */
  get isTTY(): boolean {
    return this.streams.stdout.isTTY === true;
  }

  get columns(): number {
    return this.streams.stdout.columns ?? 100;
  }

  /** A line of human-readable output. Every text line is written with credentials in URLs hidden. */
  line(text = ''): void {
    this.streams.stdout.write(`${redactText(text)}\n`);
  }

  lines(texts: readonly string[]): void {
    if (texts.length > 0) this.streams.stdout.write(`${texts.map(redactText).join('\n')}\n`);
  }

  /** Raw text to stdout (the live view's cursor moves). */
  raw(text: string): void {
    this.streams.stdout.write(redactText(text));
  }

  /** A JSON document (pretty-printed), the whole result of a command. */
  data(value: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One JSON object per line, for streams of events (watch, demo). */
  record(value: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(value)}\n`);
  }

  /** Either `human()` as lines, or `value` as JSON, by `--json`. */
  result(value: unknown, human: () => readonly string[]): void {
    if (this.json) this.data(value);
    else this.lines(human());
  }

  /** Information about what the command is doing (stderr, so stdout stays parseable). */
  note(text: string): void {
    this.streams.stderr.write(`${redactText(text)}\n`);
  }

  warn(text: string): void {
    this.streams.stderr.write(`tailslide: warning: ${redactText(text)}\n`);
  }

  error(text: string): void {
    this.streams.stderr.write(`tailslide: ${redactText(text)}\n`);
  }

  /** A logger for the library code: warnings and errors to stderr, the rest only when verbose. */
  logger(verbose = false): Logger {
    return {
      debug: (message) => {
        if (verbose) this.note(`debug: ${message}`);
      },
      info: (message) => {
        if (verbose) this.note(message);
      },
      warn: (message) => this.warn(message),
      error: (message) => this.error(message),
    };
  }

  /** Resolves once stdout has taken everything written so far (before process.exit). */
  flush(): Promise<void> {
    return new Promise((resolve) => {
      this.streams.stdout.write('', () => resolve());
    });
  }
}
