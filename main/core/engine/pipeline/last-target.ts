import { z } from 'zod';
import type { VersionRef } from '../../cloud/cloud-adapter.ts';
import type { Journal } from '../../storage/journal.ts';
import { jsonOrUndefined } from '../../validation.ts';

/*
 * The last target version the cloud named, remembered per cloud
 * (CloudAdapter.account: another model's or address's target is not this
 * one's) so a unit can be flashed offline: its id and revision, which together
 * name the cached image.
 */
const settingOf = (account: string) => `last-target-version:${account}`;

const savedTargetSchema = z.object({ id: z.string().min(1), revision: z.string().min(1).optional() }).strict();

export function rememberTarget(journal: Journal, account: string, version: VersionRef): void {
  journal.setSetting(settingOf(account), JSON.stringify({ id: version.id, revision: version.revision }));
}

/** The last target the cloud named for this account, or undefined when it never named one (or the record of it is unreadable). */
export function lastTarget(journal: Journal, account: string): VersionRef | undefined {
  const saved = journal.setting(settingOf(account));
  if (saved === undefined) return undefined;
  const parsed = savedTargetSchema.safeParse(jsonOrUndefined(saved));
  return parsed.success ? parsed.data : undefined;
}
