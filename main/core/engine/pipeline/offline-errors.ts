import { StationError } from '../../errors.ts';

/** The unit needs a target version and the station has never learned one. */
export function noTarget(): StationError {
  return new StationError('OFFLINE_NO_TARGET', 'the cloud cannot be reached and the station has never learned the target version', {
    hint: 'Connect the station to the internet for the first unit of a batch.',
    retryable: true,
  });
}

/** The unit needs firmware the station has not cached. */
export function notCached(versionId: string): StationError {
  return new StationError('OFFLINE_FIRMWARE_MISSING', `the firmware ${versionId} is not cached and the cloud cannot be reached`, {
    hint: 'Let one unit through while online so the firmware is downloaded, or retry when the connection is back.',
    retryable: true,
  });
}
