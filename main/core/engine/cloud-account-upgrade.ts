import { createCloudAdapter } from '../cloud/backends.ts';
import type { CloudAdapter } from '../cloud/cloud-adapter.ts';
import { lineConfigSchema, type LineConfig } from '../config/line-config.ts';
import type { Journal } from '../storage/journal.ts';
import { jsonOrUndefined } from '../validation.ts';
import { rememberTarget } from './pipeline/last-target.ts';

/*
 * Older stations kept what a cloud gave them by backend alone: credentials
 * without the cloud that issued them, cached firmware under
 * "<backend>:<id>", the last target under "last-target:<backend>". This
 * station keeps them per cloud (CloudAdapter.account). At its first start on
 * an older data folder, what the stored line configuration (the line the
 * station last ran) says decides which cloud the older records belong to.
 */

/**
 * The upgrade, at every start: nothing to do once the older records are
 * decided (the common start), so the stored line is read, and an adapter made
 * for it, only while an older station's records are left.
 */
export async function upgradeToCloudAccounts(journal: Journal, current: CloudAdapter, readStored: () => string | undefined): Promise<void> {
  const legacyFirmware = journal.setting(legacyTargetSetting(current)) !== undefined || journal.hasFirmwareKeyedUnder(legacyFirmwarePrefix(current));
  if (journal.credentialsAccountDecided() && !legacyFirmware) return;
  const previous = await previousCloudOf(readStored, current);
  stampCredentialsIssuer(journal, current, previous);
  adoptLegacyFirmwareKeys(journal, current, previous);
}

const legacyTargetSetting = (current: CloudAdapter) => `last-target:${current.backend.id}`;
const legacyFirmwarePrefix = (current: CloudAdapter) => `${current.backend.id}:`;

/** The cloud the station last ran with, against the one it runs with now (by account: a rotated key or a timeout changes nothing). */
export type PreviousCloud = { kind: 'none' } | { kind: 'same' } | { kind: 'other'; account: string } | { kind: 'unknown' };

/**
 * From the stored line configuration (`readStored` may throw: a value sealed
 * under another key): none stored, the same cloud, another, or one that
 * cannot be told (unreadable, no longer valid, or no adapter can be made for it).
 */
async function previousCloudOf(readStored: () => string | undefined, current: CloudAdapter): Promise<PreviousCloud> {
  let stored: string | undefined;
  try {
    stored = readStored();
  } catch {
    return { kind: 'unknown' };
  }
  if (stored === undefined) return { kind: 'none' };
  const result = lineConfigSchema.safeParse(jsonOrUndefined(stored));
  if (!result.success) return { kind: 'unknown' };
  const previous = result.data;
  const account = await accountOf(previous.cloud);
  if (account === undefined) return { kind: 'unknown' };
  return account === current.account ? { kind: 'same' } : { kind: 'other', account };
}

/**
 * Credentials stored without their cloud go, from now on, only to the cloud
 * the station last ran with (the current one when it stored no line or the
 * cloud did not change). Where the stored line cannot say, they are left as
 * they were: sent to the configured cloud. Decided once per data folder (the
 * journal remembers); returns how many were stamped.
 */
function stampCredentialsIssuer(journal: Journal, current: CloudAdapter, previous: PreviousCloud): number {
  switch (previous.kind) {
    case 'none':
    case 'same':
      return journal.stampCredentialsAccount(current.account);
    case 'unknown':
      return journal.stampCredentialsAccount(undefined);
    case 'other':
      return journal.stampCredentialsAccount(previous.account);
  }
}

/**
 * Firmware an older station cached, and the last target it knew, belong to
 * this cloud when the station last ran on this same cloud and its ids name
 * one image for good: they are re-keyed, so a station upgraded while the
 * cloud is away still flashes. Otherwise (another cloud, one that cannot be
 * told, or Exosite, whose content names were reused across models and
 * uploads) they are dropped, never taken for this cloud's.
 */
function adoptLegacyFirmwareKeys(journal: Journal, current: CloudAdapter, previous: PreviousCloud): number {
  const adopt = previous.kind === 'same' && current.backend.reusesVersionIds !== true;
  const target = journal.setting(legacyTargetSetting(current));
  if (adopt && target !== undefined) rememberTarget(journal, current.account, { id: target });
  if (target !== undefined) journal.deleteSetting(legacyTargetSetting(current));
  return journal.rekeyFirmware(legacyFirmwarePrefix(current), adopt ? `${current.account}:` : undefined);
}

/** The account of a cloud configuration, from an adapter made for it and closed at once (none connects when made); undefined when none can be made. */
async function accountOf(cloud: LineConfig['cloud']): Promise<string | undefined> {
  let adapter: CloudAdapter;
  try {
    adapter = await createCloudAdapter(cloud);
  } catch {
    return undefined;
  }
  try {
    return adapter.account;
  } finally {
    await adapter.close().catch(() => undefined);
  }
}
