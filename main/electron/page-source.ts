/** Where the station window's page comes from, and how to tell that page from anything else. */
export interface PageSource {
  /** electron-vite's dev server, in a development run only. */
  devServerUrl?: string;
  /** The built page, out/renderer/index.html (inside app.asar when packaged). */
  file: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]']);
const LOOPBACK_IPV4 = /^127(\.\d{1,3}){3}$/;

/**
 * A packaged app always loads its built page: ELECTRON_RENDERER_URL is a
 * development aid, and honoured in a shipped build it would hand the IPC
 * bridge to whatever page the variable names. Even in development only a
 * loopback http(s) server is taken.
 */
export function choosePageSource(options: { isPackaged: boolean; devServerUrl: string | undefined; builtFile: string }): PageSource {
  const { isPackaged, devServerUrl, builtFile } = options;
  if (isPackaged || !devServerUrl) return { file: builtFile };
  let url: URL;
  try {
    url = new URL(devServerUrl);
  } catch {
    return { file: builtFile };
  }
  const loopback = (url.protocol === 'http:' || url.protocol === 'https:') && (LOOPBACK_HOSTS.has(url.hostname) || LOOPBACK_IPV4.test(url.hostname));
  return loopback ? { devServerUrl: url.origin, file: builtFile } : { file: builtFile };
}

/** True only for our own page: the dev server's origin, or exactly the built file. */
export function isOwnPage(source: PageSource, url: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (source.devServerUrl) return parsed.origin === source.devServerUrl;
  return parsed.protocol === 'file:' && decodeURIComponent(parsed.pathname) === toFileUrlPath(source.file);
}

/** A path as it appears in a file:// URL's pathname (C:\x on Windows is /C:/x there). */
function toFileUrlPath(path: string): string {
  const slashed = path.replaceAll('\\', '/');
  return slashed.startsWith('/') ? slashed : `/${slashed}`;
}
