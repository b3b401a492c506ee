/**
 * `tailslide/openfeature`: the OpenFeature server provider. A separate entry, so that only hosts
 * that use OpenFeature load `@openfeature/server-sdk` (an optional peer dependency).
 */
export { TailslideProvider } from './provider';
export type { TailslideProviderManagerOptions, TailslideProviderOptions } from './provider';
