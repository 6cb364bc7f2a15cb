import { createCloudAdapter } from '../cloud/backends.ts';
import type { CloudAdapter } from '../cloud/cloud-adapter.ts';
import { lineConfigSchema, type LineConfig } from '../config/line-config.ts';
import type { Journal } from '../storage/journal.ts';

/**
 * Credentials a station stored before it recorded which cloud issued them
 * (older versions) go, from now on, only to that cloud: the one the station
 * last ran with, as its stored line configuration says, or the one it runs
 * with now when it stored none or the cloud did not change. Done once per
 * data folder (the journal remembers); returns how many were stamped.
 */
export async function stampCredentialsIssuer(journal: Journal, current: CloudAdapter, previousConfig: string | undefined, config: LineConfig): Promise<number> {
  const previous = parsed(previousConfig);
  const sameCloud = previous === undefined || JSON.stringify(previous.cloud) === JSON.stringify(config.cloud);
  const issuer = sameCloud ? current.account : await accountOf(previous.cloud);
  // A previous cloud the station can no longer describe: the older keys stay as they were (sent to the configured cloud).
  return issuer === undefined ? 0 : journal.stampCredentialsAccount(issuer);
}

function parsed(text: string | undefined): LineConfig | undefined {
  if (text === undefined) return undefined;
  try {
    const result = lineConfigSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

/** The account of a cloud configuration, from an adapter made for it and closed at once (none connects when made). */
async function accountOf(cloud: LineConfig['cloud']): Promise<string | undefined> {
  const adapter = await createCloudAdapter(cloud).catch(() => undefined);
  if (!adapter) return undefined;
  try {
    return adapter.account;
  } finally {
    await adapter.close();
  }
}
