import type { CloudBackend } from '../cloud-adapter.ts';

/** Fleet Freedom's identity, for errors and records. */
export const FLEET_FREEDOM: CloudBackend = { id: 'fleetfreedom', label: 'Fleet Freedom' };

/** Constants of the Fleet Freedom WebSocket API (shared/specs/cloud-backends.md), shared by the client and the emulator. */

export const PROVIDER_KINDS = ['airlink', 'bluetree', 'datatrans', 'genx', 'json', 'lbs', 'lmu', 'mobile', 'smartwitness', 'spiderAT', 'spiderMT', 'titan', 'ttu', 'xirgo'] as const;

/** Error codes from shared/specs/cloud-backends.md. */
export const FF = {
  ok: 0,
  invalidData: 3,
  permissionDenied: 5,
  wrongVersionKey: 6,
  sessionExpired: 7,
  userNotLoggedIn: 8,
  invalidCredentials: 11,
  companyNotFound: 28,
  providerNotFound: 43,
  unknownCommand: 61,
} as const;
