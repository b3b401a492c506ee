/** The worked example of docs/targeting.md, as a complete wire flag (its table is test/unit/targeting.test.ts). */
export const PRICING_PAGE: Readonly<Record<string, unknown>> = {
  id: 42,
  app_id: 1,
  title: 'pricing-page',
  description: '',
  is_active: true,
  rollout_percentage: 100,
  white_listed_users: '',
  error_threshold_percentage: 0,
  circuit_status: 'close',
  is_recoverable: false,
  circuit_recovery_percentage: 100,
  circuit_recovery_delay: 60000,
  circuit_initial_recovery_percentage: 10,
  circuit_recovery_rate: 60000,
  circuit_recovery_increment_percentage: 10,
  circuit_recovery_profile: 'linear',
  created_at: '2026-11-27T00:00:00.000Z',
  updated_at: '2026-11-27T00:00:00.000Z',
  variations: ['control', 'annual-first', 'monthly-first'],
  off_variation: 0,
  targets: [{ variation: 2, values: ['qa-1'] }],
  rules: [
    {
      id: 'eu-annual',
      clauses: [
        { attribute: 'country', op: 'in', values: ['NL', 'BE', 'DE'] },
        { attribute: 'app_version', op: 'semver_gt', values: ['2.3.0'] },
      ],
      serve: { variation: 1 },
    },
    {
      id: 'staff',
      clauses: [{ attribute: 'email', op: 'ends_with', values: ['@example.com'] }],
      serve: {
        split: [
          { variation: 1, weight: 50000 },
          { variation: 2, weight: 50000 },
        ],
      },
    },
  ],
  fallthrough: {
    split: [
      { variation: 0, weight: 50000 },
      { variation: 1, weight: 50000 },
    ],
  },
};
