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
  readonly settings: FlagPatch;
}

export const DEMO_FLAGS: readonly DemoFlag[] = [
  {
    title: 'checkout-v2',
    operation: 'checkout',
    share: 0.4,
    failOn: 0.15,
    failOff: 0.02,
    settings: {
      description: 'tailslide demo: the new checkout (its new path fails more often)',
      is_active: true,
      rollout_percentage: 50,
      white_listed_users: '',
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
const CLOSED_CIRCUIT: FlagPatch = { circuit_status: 'close', error_threshold_percentage: 0 };

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
      ? await admin.updateFlag(appId, existing.id, { ...demo.settings, ...CLOSED_CIRCUIT })
      : await admin.createFlag(appId, { title: demo.title, ...demo.settings });
    (existing ? reset : created).push(demo.title);
    flags = outcome.flags;
    sequence = outcome.sequence ?? sequence;
  }
  return { flags, sequence, created, reset };
}
