/**
 * Connection options of the command, each a flag and an environment variable named like the SDK's
 * option (`natsServer` → `--nats-server` / `TAILSLIDE_NATS_SERVER`). A flag wins over the variable,
 * the variable over the default.
 */
import { Option, type Command } from 'commander';
import type { TlsOptions } from 'nats';
import type { FlagAdminOptions } from '../../admin/options';
import { InvalidOptionError } from '../../errors';
import type { Logger } from '../../logger';
import { DEFAULT_NATS_STREAM, type FlagManagerOptions } from '../../options';
import type { SignalReaderOptions } from '../../signals/reader';
import { badValue } from '../core/exit-codes';
import { parseChoice, parseDuration, parseServers } from './values';

export const DEFAULT_NATS_SERVER = 'nats://127.0.0.1:4222';
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_CONNECT_TIMEOUT = '5s';

export interface OptionSpec {
  readonly flags: string;
  /** The camelCase key commander stores the value under. */
  readonly key: string;
  readonly env: string;
  readonly description: string;
  readonly defaultValue?: string;
  /** The SDK option it matches, when there is one. */
  readonly sdkOption?: string;
  readonly choices?: readonly string[];
}

/** Every connection option, for the commands and for the README. */
export const NATS_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--nats-server <urls>',
    key: 'natsServer',
    env: 'TAILSLIDE_NATS_SERVER',
    sdkOption: 'natsServer',
    defaultValue: DEFAULT_NATS_SERVER,
    description: 'NATS server URL(s), comma-separated',
  },
  {
    flags: '--nats-stream <name>',
    key: 'natsStream',
    env: 'TAILSLIDE_NATS_STREAM',
    sdkOption: 'natsStream',
    defaultValue: DEFAULT_NATS_STREAM,
    description: 'JetStream stream holding the rulesets',
  },
  {
    flags: '--sdk-key <token>',
    key: 'sdkKey',
    env: 'TAILSLIDE_SDK_KEY',
    sdkOption: 'sdkKey',
    description: "NATS token (Tailslide's SDK key)",
  },
  {
    flags: '--nats-user <user>',
    key: 'natsUser',
    env: 'TAILSLIDE_NATS_USER',
    sdkOption: 'natsUser',
    description: 'NATS user name',
  },
  {
    flags: '--nats-password <password>',
    key: 'natsPassword',
    env: 'TAILSLIDE_NATS_PASSWORD',
    sdkOption: 'natsPassword',
    description: 'NATS password',
  },
  {
    flags: '--nats-creds-file <path>',
    key: 'natsCredsFile',
    env: 'TAILSLIDE_NATS_CREDS_FILE',
    sdkOption: 'natsCredsFile',
    description: 'NATS credentials file (JWT + NKey seed)',
  },
  {
    flags: '--nats-nkey-seed <seed>',
    key: 'natsNkeySeed',
    env: 'TAILSLIDE_NATS_NKEY_SEED',
    sdkOption: 'natsNkeySeed',
    description: 'NATS NKey seed',
  },
  {
    flags: '--nats-tls-ca <path>',
    key: 'natsTlsCa',
    env: 'TAILSLIDE_NATS_TLS_CA',
    sdkOption: 'natsTls.caFile',
    description: 'CA certificate file: connect with TLS and trust this CA',
  },
  {
    flags: '--nats-tls-cert <path>',
    key: 'natsTlsCert',
    env: 'TAILSLIDE_NATS_TLS_CERT',
    sdkOption: 'natsTls.certFile',
    description: 'client certificate file (TLS client auth)',
  },
  {
    flags: '--nats-tls-key <path>',
    key: 'natsTlsKey',
    env: 'TAILSLIDE_NATS_TLS_KEY',
    sdkOption: 'natsTls.keyFile',
    description: 'client key file (TLS client auth)',
  },
  {
    flags: '--connect-timeout <duration>',
    key: 'connectTimeout',
    env: 'TAILSLIDE_CONNECT_TIMEOUT',
    defaultValue: DEFAULT_CONNECT_TIMEOUT,
    description: 'give up connecting to NATS after this long',
  },
];

export const REDIS_OPTIONS: readonly OptionSpec[] = [
  {
    flags: '--redis-url <url>',
    key: 'redisUrl',
    env: 'TAILSLIDE_REDIS_URL',
    sdkOption: 'redisUrl',
    defaultValue: DEFAULT_REDIS_URL,
    description: 'Redis holding the signals; several, comma-separated: nodes of a Redis Cluster',
  },
  {
    flags: '--signal-backend <backend>',
    key: 'signalBackend',
    env: 'TAILSLIDE_SIGNAL_BACKEND',
    sdkOption: 'signalBackend',
    defaultValue: 'auto',
    choices: ['auto', 'timeseries', 'native'],
    description: 'where the signals are: auto asks Redis for the TimeSeries module',
  },
];

export const APP_ID_OPTION: OptionSpec = {
  flags: '--app-id <id>',
  key: 'appId',
  env: 'TAILSLIDE_APP_ID',
  sdkOption: 'appId',
  description: 'the app (required)',
};

export interface NatsFlags {
  natsServer: string;
  natsStream: string;
  sdkKey?: string;
  natsUser?: string;
  natsPassword?: string;
  natsCredsFile?: string;
  natsNkeySeed?: string;
  natsTlsCa?: string;
  natsTlsCert?: string;
  natsTlsKey?: string;
  connectTimeout: string;
  verbose?: boolean;
}

export interface RedisFlags {
  redisUrl: string;
  signalBackend: string;
}

export interface AppFlags {
  appId?: string;
}

export interface JsonFlags {
  json?: boolean;
}

function addSpec(cmd: Command, spec: OptionSpec): void {
  const option = new Option(spec.flags, spec.description).env(spec.env);
  if (spec.defaultValue !== undefined) option.default(spec.defaultValue);
  if (spec.choices !== undefined) option.choices(spec.choices);
  cmd.addOption(option);
}

export function withNatsOptions(cmd: Command): Command {
  for (const spec of NATS_OPTIONS) addSpec(cmd, spec);
  cmd.option('--verbose', 'log what the admin library does (to stderr)');
  return cmd;
}

export function withRedisOptions(cmd: Command): Command {
  for (const spec of REDIS_OPTIONS) addSpec(cmd, spec);
  return cmd;
}

export function withAppId(cmd: Command, description = APP_ID_OPTION.description): Command {
  addSpec(cmd, { ...APP_ID_OPTION, description });
  return cmd;
}

export function withJson(cmd: Command, description = 'print JSON (for scripts) instead of a table'): Command {
  return cmd.option('--json', description);
}

/** What FlagAdmin needs from the NATS flags. */
export function adminOptions(flags: NatsFlags, logger: Logger): FlagAdminOptions {
  return {
    nats: {
      servers: parseServers(flags.natsServer),
      stream: flags.natsStream,
      token: flags.sdkKey,
      user: flags.natsUser,
      password: flags.natsPassword,
      credsFile: flags.natsCredsFile,
      nkeySeed: flags.natsNkeySeed,
      tls: tlsOptions(flags),
    },
    connectTimeoutMs: parseDuration(flags.connectTimeout, '--connect-timeout'),
    logger,
  };
}

/** The NATS and Redis options of a FlagManager (the demo's) from the flags. */
export function managerConnectionOptions(flags: NatsFlags & RedisFlags): Partial<FlagManagerOptions> {
  const options: Partial<FlagManagerOptions> = {
    natsServer: parseServers(flags.natsServer),
    natsStream: flags.natsStream,
    ...(flags.redisUrl.includes(',') ? { redisClusterNodes: redisUrls(flags.redisUrl) } : { redisUrl: flags.redisUrl }),
    signalBackend: signalBackend(flags),
  };
  if (flags.sdkKey !== undefined) options.sdkKey = flags.sdkKey;
  if (flags.natsUser !== undefined) options.natsUser = flags.natsUser;
  if (flags.natsPassword !== undefined) options.natsPassword = flags.natsPassword;
  if (flags.natsCredsFile !== undefined) options.natsCredsFile = flags.natsCredsFile;
  if (flags.natsNkeySeed !== undefined) options.natsNkeySeed = flags.natsNkeySeed;
  const tls = tlsOptions(flags);
  if (tls !== undefined) options.natsTls = tls;
  return options;
}

/** TLS options from the --nats-tls-* flags; undefined (plain, or TLS as the server asks) when none is set. */
function tlsOptions(flags: NatsFlags): TlsOptions | undefined {
  if (flags.natsTlsCa === undefined && flags.natsTlsCert === undefined && flags.natsTlsKey === undefined)
    return undefined;
  const tls: TlsOptions = {};
  if (flags.natsTlsCa !== undefined) tls.caFile = flags.natsTlsCa;
  if (flags.natsTlsCert !== undefined) tls.certFile = flags.natsTlsCert;
  if (flags.natsTlsKey !== undefined) tls.keyFile = flags.natsTlsKey;
  return tls;
}

export function signalBackend(flags: RedisFlags): 'auto' | 'timeseries' | 'native' {
  return parseChoice(flags.signalBackend, '--signal-backend', ['auto', 'timeseries', 'native'] as const);
}

export function readerOptions(flags: RedisFlags): SignalReaderOptions {
  const urls = redisUrls(flags.redisUrl);
  const backend = signalBackend(flags);
  return urls.length > 1 ? { redisClusterNodes: urls, backend } : { redisUrl: urls[0] ?? '', backend };
}

/** `--redis-url`: one URL, or several (comma-separated) naming nodes of a Redis Cluster. */
export function redisUrls(value: string): string[] {
  const urls = value
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0 || urls.some((u) => !/^rediss?:\/\//i.test(u)))
    throw badValue(
      '--redis-url',
      value,
      'a URL starting with redis:// or rediss:// (several, comma-separated, for a Redis Cluster)',
    );
  return urls;
}

/** SDK / admin option names as the command line spells them, for error messages. */
const CLI_NAMES: Readonly<Record<string, string>> = {
  'nats.servers': '--nats-server',
  natsServer: '--nats-server',
  stream: '--nats-stream',
  natsStream: '--nats-stream',
  'nats.token': '--sdk-key',
  sdkKey: '--sdk-key',
  'nats.user': '--nats-user',
  natsUser: '--nats-user',
  'nats.password': '--nats-password',
  natsPassword: '--nats-password',
  'nats.credsFile': '--nats-creds-file',
  natsCredsFile: '--nats-creds-file',
  'nats.nkeySeed': '--nats-nkey-seed',
  natsNkeySeed: '--nats-nkey-seed',
  connectTimeoutMs: '--connect-timeout',
  redisUrl: '--redis-url',
  appId: '--app-id',
};

/**
 * An `InvalidOptionError` of the library about one of our connection options, re-worded with the
 * command-line name (`Invalid option "nats.servers[0]"` → `Invalid value for --nats-server`).
 */
export function renameOptionError(error: unknown): unknown {
  if (!(error instanceof InvalidOptionError)) return error;
  const base = error.option.replace(/\[\d+\]$/, '');
  const name = CLI_NAMES[base];
  if (name === undefined) return error;
  const expected = /\(expected (.*)\)$/.exec(error.message)?.[1] ?? 'a valid value';
  return badValue(name, error.value, expected);
}
