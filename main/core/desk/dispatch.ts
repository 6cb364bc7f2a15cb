import { ANSWER_ERROR_MAX, CONFIGURING_METHODS, ENGINEER_METHODS, isMethod, methods, type Answer, type Method } from '../../../contract/station-contract.ts';
import { describeError } from '../errors.ts';
import { failureText } from './screen-text.ts';
import { screenSession, type CallerAccess, type ScreenSession } from './operator-access.ts';
import type { StationDesk } from './station-desk.ts';

export { screenSession, type CallerAccess, type ScreenSession } from './operator-access.ts';

/** The app's own window: trusted to configure the station, as the technician at it is (held to the engineer PIN in operator mode). */
export const APP_WINDOW: CallerAccess = { mayConfigure: true };

/** Engineer calls that change nothing on the station: they need the unlock, but do not keep it open. */
const CHANGES_NOTHING: ReadonlySet<Method> = new Set<Method>(['checkSettings']);

const ENGINEER_REFUSAL = 'This station is in operator mode: changing the line needs the engineer. Unlock this screen with the engineer PIN (Settings), then try again.';

/**
 * One call from a screen, whatever carried it: the method must exist, the
 * caller must be allowed to make it (its transport for configuring calls; a
 * connection unlocked with the engineer PIN for calls that change the line,
 * in operator mode), and its parameters must match the contract before the
 * desk sees them; the answer must match the contract before the screen does
 * (the strict schemas are what keep a secret from ever riding along). The
 * connection's session goes to the desk with every call, last. Never throws.
 */
export async function dispatch(desk: StationDesk, method: unknown, params: unknown, session: ScreenSession = screenSession(APP_WINDOW)): Promise<Answer> {
  if (!isMethod(method)) return { ok: false, error: `refused: "${callName(method)}" is not a station call` };
  if (CONFIGURING_METHODS.has(method) && !session.mayConfigure) return { ok: false, error: `${method}: refused. ${session.refusal ?? 'This screen may not change the station\'s settings.'}` };
  const unlocked = ENGINEER_METHODS.has(method) && desk.engineerUnlocked(session);
  if (ENGINEER_METHODS.has(method) && !unlocked) {
    let pinSet: boolean;
    try {
      pinSet = desk.engineerPinSet();
    } catch (error) {
      // Whether operator mode is on cannot be read: refuse rather than guess.
      return { ok: false, error: failureText(`${method}: refused, the station cannot tell whether it is in operator mode (${describeError(error)})`, ANSWER_ERROR_MAX) };
    }
    if (pinSet) return { ok: false, error: `${method}: refused. ${ENGINEER_REFUSAL}` };
  }
  const parsed = methods[method].params.safeParse(params);
  if (!parsed.success) return { ok: false, error: `${method}: refused, malformed parameters (${parsed.error.issues[0]?.message ?? 'invalid'})` };
  // Only a call that may change the line keeps the unlock open: not a malformed one, nor checkSettings, which writes nothing.
  if (unlocked && !CHANGES_NOTHING.has(method)) desk.engineerActed(session);
  try {
    const value = await call(desk, method, parsed.data as unknown[], session);
    const checked = methods[method].result.safeParse(value);
    if (!checked.success) return { ok: false, error: `${method}: the station produced an answer outside the contract` };
    return { ok: true, value: checked.data };
  } catch (error) {
    return { ok: false, error: failureText(describeError(error), ANSWER_ERROR_MAX) };
  }
}

/**
 * A call's name as a refusal quotes it: a string (cut short), else only its
 * type. Never String() on what a client sent: an object whose toString is
 * not a function throws there.
 */
export function callName(method: unknown): string {
  return typeof method === 'string' ? method.slice(0, 64) : `<${method === null ? 'null' : typeof method}>`;
}

function call(desk: StationDesk, method: Method, params: unknown[], session: ScreenSession): Promise<unknown> {
  const handler = desk[method] as (...args: unknown[]) => unknown;
  return Promise.resolve(handler.apply(desk, [...params, session]));
}
