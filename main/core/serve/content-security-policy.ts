/**
 * The Content-Security-Policy of every station page, in the app and from
 * `station serve`: our own scripts and styles only, connections only back to
 * where the page came from, no plugins, no framing, no forms sent elsewhere.
 */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
