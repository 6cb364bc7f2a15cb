import { FAILURE_TEXT_MAX } from '../../../contract/station-contract.ts';
import { fitText } from '../format.ts';

/**
 * The one place failure text is fitted to the screen contract. A failure,
 * problem or reason is built from many sources (a device, a cloud, the OS)
 * and may be longer than the contract carries; one field over its limit
 * would make the whole snapshot (or History) fail the contract and leave
 * the screen blank. Whatever the desk puts into a tile, the header, a
 * history row or a refused call's answer goes through here.
 */

/** How much of the end a fitted text keeps: where describe() puts what to do. */
const KEPT_END = 1000;

/** `text` within `max` (the contract's limit for failure text by default): the start and the end, "…" between. */
export function failureText(text: string, max = FAILURE_TEXT_MAX): string {
  return fitText(text, max, Math.min(KEPT_END, Math.floor(max / 4)));
}

/** Same, for an optional field. */
export function optionalFailureText(text: string | undefined, max = FAILURE_TEXT_MAX): string | undefined {
  return text === undefined ? undefined : failureText(text, max);
}
