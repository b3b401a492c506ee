/** The demo's app: three flags, created or reset to their demo settings at every start. */
import type { FlagPatch } from '../../admin/fields';
import type { FlagAdmin } from '../../admin/flag-admin';
import type { WireFlag } from '../../ruleset/types';

/** The app the demo uses unless told otherwise (far from the small ids real apps tend to have). */
export const DEMO_APP_ID = 1000;

/** Users that are always in the simulated traffic and on search-ranking's whitelist. */
export const DEMO_WHITELIST: readonly string[] = [
  '375d39e6-9c3f-4f58-80bd-e5960b710295',
  'fbe6133c-f751-46f4-b275-4e8c3aa22e24',
  '0c4a8f3e-5d2b-4e7a-9b61-2f8d7c3a1e95',
];

export interface DemoFlag {
  readonly title: string;
  /** The operation of the simulated service it guards. */
  readonly operation: string;
  /** Share of all requests that hit this operation. */
  readonly share: number;
  /** Failure probability of the new code path (flag on) and the old one (flag off). */
  readonly failOn: number;
  readonly failOff: number;
  /** A stretch of time (from the service's start) in which the new path fails with `failOn` instead. */
  readonly incident?: { readonly fromMs: number; readonly toMs: number; readonly failOn: number };
  readonly settings: FlagPatch;
}

export const DEMO_FLAGS: readonly DemoFlag[] = [
  {
    title: 'checkout-v2',
    operation: 'checkout',
    share: 0.4,
    failOn: 0.03,
    failOff: 0.02,
    // 5 s in, a dependency of the new checkout breaks for 15 s: the circuit breaker switches the
    // flag off, tries it again after 5 s (10 %, +30 % every 3 s), re-opens it while it still
    // fails, and closes it once it has recovered. The whole cycle takes well under a minute.
    incident: { fromMs: 5_000, toMs: 20_000, failOn: 0.6 },
    settings: {
      description: 'tailslide demo: the new checkout (its new path breaks for a while; the circuit breaker steps in)',
      is_active: true,
      rollout_percentage: 50,
      white_listed_users: '',
      error_threshold_percentage: 10,
      is_recoverable: true,
      circuit_recovery_delay: 5_000,
      circuit_initial_recovery_percentage: 10,
      circuit_recovery_rate: 3_000,
      circuit_recovery_increment_percentage: 30,
      circuit_recovery_profile: 'linear',
    },
  },
  {
    title: 'search-ranking',
    operation: 'search',
    share: 0.4,
    failOn: 0.02,
    failOff: 0.04,
    settings: {
      description: 'tailslide demo: the new search ranking',
      is_active: true,
      rollout_percentage: 20,
      white_listed_users: DEMO_WHITELIST.join(','),
    },
  },
  {
    title: 'dark-mode',
    operation: 'page view',
    share: 0.2,
    failOn: 0.01,
    failOff: 0.01,
    settings: {
      description: 'tailslide demo: dark mode, off for now',
      is_active: false,
      rollout_percentage: 100,
      white_listed_users: '',
    },
  },
];

/** Circuit fields reset at every start, so a breaker's earlier trip does not linger. */
const CLOSED_CIRCUIT: FlagPatch = {
  circuit_status: 'close',
  error_threshold_percentage: 0,
  circuit_recovery_percentage: 100,
};

export interface DemoApp {
  readonly flags: readonly WireFlag[];
  /** Sequence of the last ruleset the setup published. */
  readonly sequence: number | undefined;
  readonly created: readonly string[];
  readonly reset: readonly string[];
}

/**
 * Makes sure the stream captures the app, then creates each demo flag, or puts an existing one
 * (from an earlier run) back to its demo settings. Other flags of the app are left alone.
 */
export async function setUpDemoApp(admin: FlagAdmin, appId: number): Promise<DemoApp> {
  await admin.ensureStream({ appId });
  const current = (await admin.readRuleset(appId))?.flags ?? [];
  const created: string[] = [];
  const reset: string[] = [];
  let flags: readonly WireFlag[] = current;
  let sequence: number | undefined;
  for (const demo of DEMO_FLAGS) {
    const existing = current.find((flag) => flag.title === demo.title);
    const outcome = existing
      ? await admin.updateFlag(appId, existing.id, { ...CLOSED_CIRCUIT, ...demo.settings })
      : await admin.createFlag(appId, { title: demo.title, ...demo.settings });
    (existing ? reset : created).push(demo.title);
    flags = outcome.flags;
    sequence = outcome.sequence ?? sequence;
  }
  return { flags, sequence, created, reset };
}
