/** The web dashboard (`tailslide ui`): an HTTP server for the page, its JSON API and live events. */
export {
  startDashboard,
  resolveDashboardSettings,
  DEFAULT_UI_HOST,
  DEFAULT_UI_PORT,
  type Dashboard,
  type DashboardOptions,
} from './server';
export { MIN_TOKEN_LENGTH, SECURITY_HEADERS, isLoopbackHost } from './security';
export { MAX_BODY_BYTES } from './http';
export { DEFAULT_SESSION_TTL_MS } from './sessions';
export { RANGES } from './api';
