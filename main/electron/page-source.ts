import { APP_PAGE_URL, isAppPage } from './app-protocol.ts';

/** Where the station window's page comes from, and how to tell that page from anything else. */
export interface PageSource {
  /** What the window loads: the dev server in a development run, else the built page on the app's own scheme. */
  url: string;
  /** electron-vite's dev server, in a development run only. */
  devServerUrl?: string;
  /** The built page's folder, out/renderer (inside app.asar when packaged): what station://app/ serves. */
  root: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const LOOPBACK_IPV4 = /^127(\.\d{1,3}){3}$/;

/**
 * A packaged app always loads its built page: ELECTRON_RENDERER_URL is a
 * development aid, and honoured in a shipped build it would hand the IPC
 * bridge to whatever page the variable names. Even in development only a
 * loopback http(s) server is taken.
 */
export function choosePageSource(options: { isPackaged: boolean; devServerUrl: string | undefined; builtRoot: string }): PageSource {
  const { isPackaged, devServerUrl, builtRoot } = options;
  const built: PageSource = { url: APP_PAGE_URL, root: builtRoot };
  if (isPackaged || !devServerUrl) return built;
  let url: URL;
  try {
    url = new URL(devServerUrl);
  } catch {
    return built;
  }
  const loopback = (url.protocol === 'http:' || url.protocol === 'https:') && (LOOPBACK_HOSTS.has(url.hostname) || LOOPBACK_IPV4.test(url.hostname));
  return loopback ? { url: url.origin, devServerUrl: url.origin, root: builtRoot } : built;
}

/** True only for our own page: the dev server's origin, or exactly the built page on the app's scheme. */
export function isOwnPage(source: PageSource, url: string): boolean {
  if (source.devServerUrl) {
    try {
      return new URL(url).origin === source.devServerUrl;
    } catch {
      return false;
    }
  }
  return isAppPage(url);
}
