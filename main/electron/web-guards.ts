import type { Session, WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../core/serve/content-security-policy.ts';
import { isOwnPage, type PageSource } from './page-source.ts';

/** Nothing takes the window away from the station: no navigation, no redirect, no new window. */
export function guardNavigation(contents: Pick<WebContents, 'on' | 'setWindowOpenHandler'>, source: PageSource): void {
  const stayHome = (event: { preventDefault: () => void }, url: string): void => {
    if (!isOwnPage(source, url)) event.preventDefault();
  };
  contents.on('will-navigate', stayHome);
  contents.on('will-redirect', stayHome);
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/**
 * The station's page needs no browser permission (camera, serial, clipboard,
 * notifications…): every request is refused, and so is every synchronous
 * check a page can make without asking. Every response carries the CSP.
 */
export function lockDownSession(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'webRequest'>): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } });
  });
}
