import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express from 'express';

/** Where `npm run build` writes the bundled dashboard (dashboard/build.mjs). */
export const DASHBOARD_DIR = fileURLToPath(new URL('../dashboard/', import.meta.url));

/** A year: the assets' names carry their content hash, so a changed file is a new name. */
const HASHED_MAX_AGE_S = 365 * 24 * 3600;

/**
 * The web dashboard's static files at /dashboard/. It is only HTML, JS and CSS: every
 * action it offers goes through the public /api/v4 and /metrics, with the operator's app
 * credentials, so the dashboard can do nothing a script could not. index.html is never
 * cached (it names the current hashed assets); the assets are cached for good.
 */
export function dashboardRouter(dir: string = DASHBOARD_DIR): express.Router {
  const router = express.Router();
  if (!existsSync(dir)) return router; // not built: /dashboard/ is the usual JSON 404
  router.use(
    express.static(dir, {
      index: 'index.html',
      redirect: true,
      setHeaders: (res, path) => {
        if (path.endsWith('.html')) res.setHeader('cache-control', 'no-cache');
        else res.setHeader('cache-control', `public, max-age=${HASHED_MAX_AGE_S}, immutable`);
      },
    }),
  );
  return router;
}
