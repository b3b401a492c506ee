/** What the demo prints before the live view: where things are, and the commands to try. Pure. */
import { DEFAULT_NATS_STREAM } from '../../options';
import { redactUrl } from '../format/common';
import type { LocalServer } from '../core/local-servers';
import { DEFAULT_NATS_SERVER, DEFAULT_REDIS_URL } from '../parse/options';
import type { DemoApp } from './setup';

export interface IntroInput {
  readonly appId: number;
  readonly natsServer: string;
  readonly natsStream: string;
  readonly redisUrl: string;
  readonly nats: LocalServer | undefined;
  readonly redis: LocalServer | undefined;
  readonly app: DemoApp;
  readonly whitelisted: string;
  readonly durationMs: number | undefined;
  /** The user passed NATS credentials: the commands need them too. */
  readonly credentials: boolean;
}

/** The commands to try from a second terminal, with the flags that reach this demo's servers. */
export function tryCommands(input: IntroInput): string[] {
  const nats = [`--app-id ${input.appId}`];
  if (input.natsServer !== DEFAULT_NATS_SERVER) nats.push(`--nats-server ${input.natsServer}`);
  if (input.natsStream !== DEFAULT_NATS_STREAM) nats.push(`--nats-stream ${input.natsStream}`);
  const conn = nats.join(' ');
  const redis = input.redisUrl !== DEFAULT_REDIS_URL ? ` --redis-url ${redactUrl(input.redisUrl)}` : '';
  return [
    `npx tailslide flags set-rollout checkout-v2 10 ${conn}`,
    `npx tailslide flags on dark-mode ${conn}`,
    `npx tailslide flags whitelist add search-ranking some-user ${conn}`,
    `npx tailslide evaluate search-ranking --user ${input.whitelisted} ${conn}`,
    `npx tailslide watch ${conn}`,
    `npx tailslide stats ${conn}${redis} --chart 5m --bucket 10s`,
  ];
}

function where(url: string, server: LocalServer | undefined): string {
  return server === undefined
    ? `${url} (already running)`
    : `${url} (started by the demo: ${server.name}, pid ${server.pid})`;
}

export function introLines(input: IntroInput, seconds: (ms: number) => string): string[] {
  const flags = input.app.flags.filter((f) => input.app.created.includes(f.title) || input.app.reset.includes(f.title));
  const named = flags.map((f) => `${f.title} (id ${f.id})`).join(', ');
  const verb = input.app.reset.length > 0 ? 'set up (reset to the demo settings)' : 'created';
  const lines = [
    `tailslide demo: app ${input.appId}, stream "${input.natsStream}"`,
    `  NATS   ${where(input.natsServer, input.nats)}`,
    `  Redis  ${where(redactUrl(input.redisUrl), input.redis)}`,
    `  flags  ${verb}: ${named}`,
    '',
    'Try these in a second terminal while it runs; each change shows in the live view at once:',
    ...tryCommands(input).map((c) => `  ${c}`),
  ];
  if (input.credentials)
    lines.push('  (add your NATS credentials: --sdk-key, --nats-user/--nats-password or --nats-creds-file)');
  lines.push(
    '',
    input.durationMs === undefined
      ? 'Ctrl-C stops the demo.'
      : `The demo stops after ${seconds(input.durationMs)}, or on Ctrl-C.`,
    '',
  );
  return lines;
}

export function introRecord(input: IntroInput): Record<string, unknown> {
  const server = (url: string, s: LocalServer | undefined): Record<string, unknown> => ({
    url,
    started: s !== undefined,
    pid: s?.pid ?? null,
    port: s?.port ?? null,
  });
  return {
    event: 'start',
    appId: input.appId,
    stream: input.natsStream,
    nats: server(input.natsServer, input.nats),
    redis: server(redactUrl(input.redisUrl), input.redis),
    flags: input.app.flags.map((f) => ({ id: f.id, title: f.title })),
    commands: tryCommands(input),
  };
}
