import { readFile } from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
import { CONTENT_SECURITY_POLICY } from '../core/serve/content-security-policy.ts';
import { pageFileType } from '../core/serve/page-file-type.ts';

/**
 * The window's page comes from the app's own scheme, station://app/, not from
 * file://: a file:// page may read any file:// URL (with the fuse that grants
 * it that, which Electron keeps on only for pages served this old way), and
 * every file:// page shares one opaque origin. Here the page has an origin of
 * its own, and the only files it can reach are the built page's.
 */
export const APP_SCHEME = 'station';
const APP_HOST = 'app';
export const APP_PAGE_URL = `${APP_SCHEME}://${APP_HOST}/index.html`;

/**
 * For protocol.registerSchemesAsPrivileged, before the app is ready. standard:
 * relative URLs resolve as on http. secure: a secure context, as the served
 * page has on localhost. corsEnabled: the page's module scripts and styles are
 * requested in CORS mode (Vite marks them crossorigin), which Chromium allows
 * only to schemes that opt in; what it opens up, reads from other origins, is
 * the public bundle only, and the window can reach no other origin.
 */
export const APP_SCHEME_PRIVILEGES = {
  scheme: APP_SCHEME,
  privileges: { standard: true, secure: true, corsEnabled: true },
};

/** Whether a URL is the station's page on its own scheme (the window's, or what an IPC sender says it shows). */
export function isAppPage(url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  return parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST && parsed.pathname === '/index.html';
}


/**
 * The file under `root` that a station://app/ URL names, or undefined: another
 * host or scheme, a dot-dot or backslash segment (Windows reads a backslash as
 * a separator), a NUL, or anything that would land outside `root`.
 */
export function appFilePath(root: string, url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  if (parsed.protocol !== `${APP_SCHEME}:` || parsed.host !== APP_HOST) return undefined;
  let segments: string[];
  try {
    segments = parsed.pathname.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return undefined;
  }
  if (segments.some((segment) => segment === '..' || /[\\/\0]/.test(segment))) return undefined;
  const named = segments.filter((segment) => segment !== '' && segment !== '.');
  const file = join(root, ...(named.length === 0 ? ['index.html'] : named));
  const inside = relative(root, file);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return undefined;
  return file;
}

/**
 * The handler for protocol.handle(APP_SCHEME): the built page's files, read
 * with Electron's fs (which reads inside app.asar), typed by extension, with
 * the station's CSP on every answer; 404 for anything else. The page is read
 * only from the app's own build, inside the integrity-checked archive when
 * packaged, so links inside it are not followed up here (there are none).
 */
export async function serveAppFile(root: string, url: string): Promise<Response> {
  const file = appFilePath(root, url);
  const headers = { 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff' };
  if (!file) return new Response('not found', { status: 404, headers });
  // fs's callback API, the one Electron has read inside app.asar for longest.
  const body = await new Promise<Buffer | undefined>((resolve) => readFile(file, (error, data) => resolve(error ? undefined : data)));
  if (!body) return new Response('not found', { status: 404, headers });
  return new Response(new Uint8Array(body), { status: 200, headers: { ...headers, 'Content-Type': pageFileType(file) } });
}
