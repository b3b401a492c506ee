/**
 * The dashboard page: a hash router over three views (apps, an app, a flag), each fed by the JSON
 * API and kept current by the live feed. Routes: `#/`, `#/apps/<id>`, `#/apps/<id>/flags/<id>`.
 * The views are in pages/, the parts they share in components/.
 */
import { ApiError, setUnauthorizedHandler } from './api';
import { replace } from './dom';
import { leaveView, main, problem } from './page';
import { appPage } from './pages/app';
import { appsPage } from './pages/apps';
import { flagPage } from './pages/flag';
import { loginPage, offerLogout } from './pages/login';

async function route(): Promise<void> {
  leaveView();
  const hash = location.hash.replace(/^#/, '') || '/';
  const flagMatch = /^\/apps\/(\d+)\/flags\/(\d+)$/.exec(hash);
  const appMatch = /^\/apps\/(\d+)$/.exec(hash);
  try {
    if (flagMatch) await flagPage(Number(flagMatch[1]), Number(flagMatch[2]));
    else if (appMatch) await appPage(Number(appMatch[1]));
    else await appsPage();
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    replace(main, problem(error));
  }
}

async function start(): Promise<void> {
  setUnauthorizedHandler(() => loginPage(route));
  window.addEventListener('hashchange', () => void route());
  // No session check first (one round trip less): a 401 from any call shows the login form.
  offerLogout(route);
  await route();
}

start().catch((error: unknown) => replace(main, problem(error)));
