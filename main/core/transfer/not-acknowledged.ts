import { TransferError } from '../errors.ts';

/**
 * A block (or the end of a file) the receiver never acknowledged, saying
 * which way it went: refused (NAKs: noise, a wrong baud rate) or silence (the
 * unit stopped answering), as each needs another fix on the line.
 */
export function notAcknowledged(port: string, what: string, tries: number, unanswered: number, timeoutMs: number): TransferError {
  const refused = tries - unanswered;
  return new TransferError(`${what} was not acknowledged after ${tries} tries (${refused} refused, ${unanswered} with no answer within ${timeoutMs} ms)`, {
    where: { port },
    hint:
      refused === 0
        ? 'The unit stopped answering during the transfer; check that it is still powered and connected, then retry.'
        : 'The line is too noisy or the receiver rejects the data; check the cable and the baud rate.',
  });
}
