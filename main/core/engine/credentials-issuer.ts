import { createCloudAdapter } from '../cloud/backends.ts';
import type { CloudAdapter } from '../cloud/cloud-adapter.ts';
import { lineConfigSchema, type LineConfig } from '../config/line-config.ts';
import type { Journal } from '../storage/journal.ts';

/**
 * Credentials a station stored before it recorded which cloud issued them
 * (older versions) go, from now on, only to that cloud: the one the station
 * last ran with, as its stored line configuration says, or the one it runs
 * with now when it stored none or the cloud did not change. Where the stored
 * configuration cannot say (it no longer reads, or names a cloud the station
 * cannot describe), they are left as they were: sent to the configured cloud.
 * Decided once per data folder (the journal remembers); returns how many were stamped.
 */
export async function stampCredentialsIssuer(journal: Journal, current: CloudAdapter, previousConfig: string | undefined, config: LineConfig): Promise<number> {
  if (previousConfig === undefined) return journal.stampCredentialsAccount(current.account);
  const previous = parsed(previousConfig);
  if (previous === undefined) return journal.stampCredentialsAccount(undefined);
  if (JSON.stringify(previous.cloud) === JSON.stringify(config.cloud)) return journal.stampCredentialsAccount(current.account);
  return journal.stampCredentialsAccount(await accountOf(previous.cloud));
}

function parsed(text: string): LineConfig | undefined {
  try {
    const result = lineConfigSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
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
