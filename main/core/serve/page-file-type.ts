import { extname } from 'node:path';

/** The built page's files by extension, as `station serve` and the app window's own scheme both serve them. */
const PAGE_FILE_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
};

/** The Content-Type of one of the page's files (module scripts need theirs exact); anything else is bytes. */
export function pageFileType(path: string): string {
  return PAGE_FILE_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}
