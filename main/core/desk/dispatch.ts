import { isMethod, methods, type Answer, type Method } from '../../../preload/contract.ts';
import { describeError } from '../errors.ts';
import type { StationDesk } from './station-desk.ts';

/**
 * One call from a screen, whatever carried it: the method must exist and its
 * parameters must match the contract before the desk sees them, and the
 * answer must match it before the screen does (the strict schemas are what
 * keep a secret from ever riding along). Never throws.
 */
export async function dispatch(desk: StationDesk, method: unknown, params: unknown): Promise<Answer> {
  if (!isMethod(method)) return { ok: false, error: `refused: "${String(method).slice(0, 64)}" is not a station call` };
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
