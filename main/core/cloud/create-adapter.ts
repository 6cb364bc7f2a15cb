import type { LineConfig } from '../config/line-config.ts';
import { resolveSecret } from '../config/line-config.ts';
import type { CloudAdapter } from './cloud-adapter.ts';
import { ExositeAdapter } from './exosite/adapter.ts';
import { FleetFreedomAdapter } from './fleetfreedom/adapter.ts';
import { GadgetKeeperAdapter } from './gadgetkeeper/adapter.ts';

/** The adapter a line configuration names, with its secrets resolved. */
export async function createCloudAdapter(cloud: LineConfig['cloud'], options: { onGhostId?: (ghostId: string) => void; ghostId?: string } = {}): Promise<CloudAdapter> {
  switch (cloud.backend) {
    case 'gadgetkeeper':
      return new GadgetKeeperAdapter({
        baseUrl: cloud.url,
        allowInsecureHttp: cloud.allowInsecureHttp,
        timeoutMs: cloud.timeoutMs,
        paths: cloud.paths,
        productKey: cloud.productKey === undefined ? undefined : await resolveSecret(cloud.productKey, 'cloud.productKey'),
      });
    case 'exosite':
      return new ExositeAdapter({
        baseUrl: cloud.url,
        allowInsecureHttp: cloud.allowInsecureHttp,
        timeoutMs: cloud.timeoutMs,
        vendor: cloud.vendor,
        model: cloud.model,
        versionAlias: cloud.versionAlias,
        firmwareContentId: cloud.firmwareContentId,
      });
    case 'fleetfreedom':
      return new FleetFreedomAdapter({
        url: cloud.url,
        allowInsecure: cloud.allowInsecureHttp,
        username: cloud.username,
        password: await resolveSecret(cloud.password, 'cloud.password'),
        company: cloud.company,
        providerKind: cloud.providerKind,
        ghostId: options.ghostId,
        onGhostId: options.onGhostId,
      });
  }
}
