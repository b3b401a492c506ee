import { nkeys as untypedNkeys } from 'nats';

/** The part of an nkeys.js key pair the tests use. */
export interface KeyPair {
  getSeed(): Uint8Array;
  getPublicKey(): string;
}

/** nats.js exports `nkeys` typed as `any`; this gives the one factory the tests call its type. */
export const nkeys = untypedNkeys as { createUser(): KeyPair };
