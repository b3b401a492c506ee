/**
 * NATS permission refusals (`-ERR 'Permissions Violation for Publish to "…"'`), sorted by cause.
 *
 * The subjects a refusal names carry random parts (each request's inbox, each consumer's name), so
 * a message quoting them verbatim never repeats and a "report once" filter never matches. Here
 * they are brought back to the pattern a permission would allow (`_INBOX.tailslide.1.>`,
 * `$JS.API.CONSUMER.MSG.NEXT.flags_ruleset.*`), which names the cause once. Pure.
 */
import { errorCode, errorMessage } from './errors';

export interface PermissionRefusal {
  readonly operation: 'publish' | 'subscribe';
  /** The refused subject with its random parts replaced by wildcards. */
  readonly subject: string;
}

/** The consumer names of consumerName() (`tailslide_<appId>_<12 hex>`). */
const CONSUMER_NAME = /^tailslide_\d+_[0-9a-f]{12}$/;
/** An inbox of ours (`_INBOX.tailslide.<appId>.…`, see appInboxPrefix) or any other (`_INBOX.…`). */
const OUR_INBOX = /^(_INBOX\.tailslide\.\d+)\./;

/** Where the consumer's name is in a JetStream API subject (`$JS.API.CONSUMER.INFO.<stream>.<name>` …). */
const CONSUMER_NAME_TOKEN: ReadonlyArray<readonly [string, number]> = [
  ['$JS.API.CONSUMER.MSG.NEXT.', 6],
  ['$JS.API.CONSUMER.INFO.', 5],
  ['$JS.API.CONSUMER.DELETE.', 5],
  ['$JS.API.CONSUMER.CREATE.', 5],
];

/**
 * A refused subject as a permission would allow it: an inbox's random part becomes `>`, a
 * consumer's name (ours, or one the server made up) `*`.
 */
export function refusedSubjectPattern(subject: string): string {
  const inbox = OUR_INBOX.exec(subject);
  if (inbox) return `${inbox[1]}.>`;
  if (subject.startsWith('_INBOX.')) return '_INBOX.>';
  const tokens = subject.split('.');
  const named = CONSUMER_NAME_TOKEN.find(([prefix]) => subject.startsWith(prefix));
  if (named !== undefined && tokens.length > named[1]) tokens[named[1]] = '*';
  return tokens.map((token) => (CONSUMER_NAME.test(token) ? '*' : token)).join('.');
}

/** The refusal a `nats` error or status reports, or undefined when it is something else. */
export function permissionRefusal(err: unknown): PermissionRefusal | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const context = (err as { permissionContext?: { operation?: unknown; subject?: unknown } }).permissionContext;
  let operation: unknown = context?.operation;
  let subject: unknown = context?.subject;
  if (typeof operation !== 'string' || typeof subject !== 'string') {
    if (errorCode(err) !== 'PERMISSIONS_VIOLATION') return undefined;
    const match = /(Publish|Subscription) to "(\S+)"/i.exec(errorMessage(err));
    if (!match) return undefined;
    [, operation, subject] = match;
  }
  if (typeof operation !== 'string' || typeof subject !== 'string') return undefined;
  return {
    operation: /^pub/i.test(operation) ? 'publish' : 'subscribe',
    subject: refusedSubjectPattern(subject),
  };
}

/** What the source cannot do without the refused subject. */
function purpose(refusal: PermissionRefusal): string {
  const s = refusal.subject;
  if (refusal.operation === 'subscribe') return 'receive the answers to its requests';
  if (s.startsWith('$JS.API.STREAM.INFO.')) return "read the stream's subjects";
  if (s.startsWith('$JS.API.CONSUMER.CREATE.')) return "create its consumer of the app's rulesets";
  if (s.startsWith('$JS.API.CONSUMER.INFO.')) return 'look up its consumer';
  if (s.startsWith('$JS.API.CONSUMER.MSG.NEXT.')) return "pull the app's rulesets from its consumer";
  if (s.startsWith('$JS.API.CONSUMER.DELETE.')) return 'delete its consumer';
  return 'follow the app';
}

/** Whether the source works without it (a consumer it cannot delete expires by itself). */
export function isOptionalPermission(refusal: PermissionRefusal): boolean {
  return refusal.operation === 'publish' && refusal.subject.startsWith('$JS.API.CONSUMER.DELETE.');
}

/** One line naming the refused permission and what it is needed for. */
export function describeRefusal(refusal: PermissionRefusal, user: string | undefined): string {
  const who = user === undefined ? 'this connection' : `NATS user ${JSON.stringify(user)}`;
  const allow = refusal.operation === 'publish' ? 'publish' : 'subscribe';
  return (
    `the NATS server refuses ${who} permission to ${allow} to "${refusal.subject}", ` +
    `needed to ${purpose(refusal)}: allow it in the user's ${allow} permissions (docs/permissions.md)`
  );
}
