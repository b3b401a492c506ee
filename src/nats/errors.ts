/**
 * What the `nats` client (v2.29) throws, sorted into what the JetStream source does about it.
 * Every rule here was checked against nats-server 2.9.10; test/integration/jetstream-source.test.ts
 * pins each case (refused token, TLS required without natsTls, missing or wrong CA, TLS asked of
 * a plain server).
 */
import { AuthorizationError, ConnectionError } from '../errors';
import type { ResolvedNatsOptions } from '../options';
import { errorMessage } from '../util/error-message';
import { hasUrlCredentials, redactText, redactUrl } from '../util/redact';

/** The helper is src/util/error-message.ts; re-exported for the NATS side's callers. */
export { errorMessage };

/** JetStream API error codes (`api_error.err_code`) the source and the admin library act on. */
export const JS_ERR = {
  CONSUMER_NOT_FOUND: 10014,
  NO_MESSAGE_FOUND: 10037,
  STREAM_NAME_IN_USE: 10058,
  STREAM_NOT_FOUND: 10059,
  SUBJECT_OVERLAP: 10065,
  WRONG_LAST_SEQUENCE: 10071,
  /** 2.9: "consumer filter subject is not a valid subset of the interest subjects". */
  FILTER_NOT_SUBSET: 10093,
  /** "JetStream system temporarily unavailable": a cluster without a meta or stream leader for now. */
  CLUSTER_NOT_AVAILABLE: 10008,
  /** "JetStream cluster can not handle request": the same, during a leader change. */
  CLUSTER_NOT_LEADER: 10009,
} as const;

function field(err: unknown, name: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
}

/** The `code` of a NatsError or a Node system/TLS error, when it has one. */
export function errorCode(err: unknown): string | undefined {
  const code = field(err, 'code');
  return typeof code === 'string' ? code : undefined;
}

/** The JetStream API error number of a failed JetStream request, when it is one. */
export function apiErrorCode(err: unknown): number | undefined {
  const code = field(field(err, 'api_error'), 'err_code');
  return typeof code === 'number' ? code : undefined;
}

/**
 * What a JetStream request gets while a cluster changes leaders (a node was lost, a stream or the
 * meta group is electing): no answer in time (`TIMEOUT`), nobody to answer (`503`, while the client
 * moves to another node), or JetStream's "temporarily unavailable". Measured on a 3-node
 * nats-server 2.9.10 cluster (test/integration/nats-cluster.test.ts). Worth retrying; a publish
 * that timed out may have been stored all the same.
 */
export function isLeaderChangeError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 4; e = field(e, 'cause'), depth++) {
    const code = errorCode(e);
    if (code === 'TIMEOUT' || code === '503') return true;
    const api = apiErrorCode(e);
    if (api === JS_ERR.CLUSTER_NOT_AVAILABLE || api === JS_ERR.CLUSTER_NOT_LEADER) return true;
  }
  return false;
}

export function isStreamNotFound(err: unknown): boolean {
  return apiErrorCode(err) === JS_ERR.STREAM_NOT_FOUND || errorMessage(err) === 'stream not found';
}

/**
 * The server refused the credentials. On a first connect the client rejects with
 * `AUTHORIZATION_VIOLATION` at once; once connected, a server that starts refusing makes the
 * client give up after two refusals in a row and close with that error.
 */
export function isAuthError(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'AUTHORIZATION_VIOLATION' || code === 'AUTHENTICATION_EXPIRED' || code === 'ACCOUNT_EXPIRED';
}

/**
 * TLS cannot work as configured: the server's certificate is not trusted (a server that
 * requires TLS makes the client upgrade even with no `tls` option, and Node then rejects a
 * private CA: `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …), a CA, cert
 * or key file is missing (`TLS`, "… doesn't exist"), a PEM does not parse (`ERR_OSSL_…`), or
 * TLS was asked for and the server offers none (`SERVER_OPT_NA` "tls").
 */
export function isTlsError(err: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined) return false;
  if (code === 'TLS') return true;
  if (code === 'SERVER_OPT_NA') return /tls/i.test(errorMessage(err));
  return /^(ERR_TLS_|ERR_SSL_|ERR_OSSL_)|CERT|SELF_SIGNED|UNABLE_TO_/.test(code);
}

/** Which credentials were offered, for messages (never the secret itself). */
export function describeCredentials(nats: ResolvedNatsOptions): string {
  if (nats.credsFile !== undefined) return `credentials file ${JSON.stringify(nats.credsFile)}`;
  if (nats.nkeySeed !== undefined) return 'NKey seed (natsNkeySeed)';
  if (nats.user !== undefined) return `user ${JSON.stringify(nats.user)} and password`;
  if (nats.token !== undefined) return 'token (sdkKey)';
  return 'connection without credentials';
}

/** Whether credentials were given only inside a server URL, which the `nats` client ignores. */
export function credentialsOnlyInUrl(nats: ResolvedNatsOptions): boolean {
  const given = nats.credsFile ?? nats.nkeySeed ?? nats.user ?? nats.token;
  return given === undefined && nats.servers.some(hasUrlCredentials);
}

/** The servers for messages, credentials hidden. */
export function describeServers(nats: ResolvedNatsOptions): string {
  return nats.servers.length > 0 ? nats.servers.map(redactUrl).join(', ') : 'the NATS server';
}

export function authorizationError(nats: ResolvedNatsOptions, server: string, err: unknown): AuthorizationError {
  const where = redactText(server);
  const why = errorMessage(err);
  if (credentialsOnlyInUrl(nats)) {
    return new AuthorizationError(
      `NATS server ${where} refused the connection without credentials (${why}): the user, password or ` +
        'token in a server URL is not used; pass them as natsUser and natsPassword, or the token as sdkKey ' +
        '(--nats-user, --nats-password, --sdk-key); not retrying',
      { cause: err },
    );
  }
  return new AuthorizationError(
    `NATS server ${where} refused the ${describeCredentials(nats)} (${why}); ` +
      'not retrying: check sdkKey / natsUser / natsPassword / natsNkeySeed / natsCredsFile',
    { cause: err },
  );
}

export function tlsError(nats: ResolvedNatsOptions, rawServer: string, err: unknown): ConnectionError {
  const server = redactText(rawServer);
  const code = errorCode(err);
  const detail = errorMessage(err);
  let message: string;
  if (code === 'SERVER_OPT_NA') {
    message = `natsTls is set but NATS server ${server} does not offer TLS`;
  } else if (code === 'TLS') {
    message = `TLS options for NATS server ${server} are unusable: ${detail}`;
  } else if (nats.tls === undefined) {
    message =
      `NATS server ${server} requires TLS and its certificate is not trusted (${detail}); ` +
      'natsTls is not set: pass natsTls: { caFile } with the CA that signed it';
  } else {
    message = `TLS handshake with NATS server ${server} failed (${detail}); check natsTls (caFile, certFile, keyFile)`;
  }
  return new ConnectionError(`${message}; not retrying`, { cause: err });
}
