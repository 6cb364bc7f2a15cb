import { CONFIGURING_METHODS, isMethod, methods, type Answer, type Method } from '../../../contract/station-contract.ts';
import { describeError } from '../errors.ts';
import type { StationDesk } from './station-desk.ts';

/** What the transport that carried a call lets its caller do. */
export interface CallerAccess {
  /** May the caller change settings, import profiles and upload firmware (CONFIGURING_METHODS)? */
  mayConfigure: boolean;
  /** Why not, and how to allow it: shown to the caller when a configuring call is refused. */
  refusal?: string;
}

/** The app's own window: trusted to configure the station, as the technician at it is. */
export const APP_WINDOW: CallerAccess = { mayConfigure: true };

/**
 * One call from a screen, whatever carried it: the method must exist, the
 * caller must be allowed to make it, and its parameters must match the
 * contract before the desk sees them; the answer must match the contract
 * before the screen does (the strict schemas are what keep a secret from
 * ever riding along). Never throws.
 */
export async function dispatch(desk: StationDesk, method: unknown, params: unknown, access: CallerAccess = APP_WINDOW): Promise<Answer> {
  if (!isMethod(method)) return { ok: false, error: `refused: "${String(method).slice(0, 64)}" is not a station call` };
  if (CONFIGURING_METHODS.has(method) && !access.mayConfigure) return { ok: false, error: `${method}: refused. ${access.refusal ?? 'This screen may not change the station\'s settings.'}` };
  const parsed = methods[method].params.safeParse(params);
  if (!parsed.success) return { ok: false, error: `${method}: refused, malformed parameters (${parsed.error.issues[0]?.message ?? 'invalid'})` };
  try {
    const value = await call(desk, method, parsed.data as unknown[]);
    const checked = methods[method].result.safeParse(value);
    if (!checked.success) return { ok: false, error: `${method}: the station produced an answer outside the contract` };
    return { ok: true, value: checked.data };
  } catch (error) {
    return { ok: false, error: describeError(error) };
  }
}

function call(desk: StationDesk, method: Method, params: unknown[]): Promise<unknown> {
  const handler = desk[method] as (...args: unknown[]) => unknown;
  return Promise.resolve(handler.apply(desk, params));
}
