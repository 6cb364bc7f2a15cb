import { demoSerials } from '../emulators/demo-serials.ts';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseOrThrow } from '../../validation.ts';
import { serveEmulator, seededBytes, type EmulatorReply, type EmulatorRequest, type RouteResult, type RunningEmulator } from '../emulators/http-emulator.ts';

const hex32 = z.string().regex(/^[0-9a-f]{32}$/, 'must be 32 lowercase hex characters');

const firmwareSeed = z.union([
  z.object({ base64: z.string() }).strict(),
  z.object({ size: z.number().int().min(1).max(64 * 1024 * 1024), seed: z.string().default('firmware') }).strict(),
]);

export const gadgetKeeperSeedSchema = z
  .object({
    products: z
      .array(
        z
          .object({
            name: z.string().min(1).max(100),
            serialNumbers: z.array(z.string().min(1).max(64)).max(100_000),
            versions: z
              .array(z.object({ id: hex32.optional(), name: z.string().min(1), description: z.string().default(''), firmware: firmwareSeed }).strict())
              .min(1),
            /** Name or id of the version every new thing should run; the last version by default. */
            target: z.string().optional(),
          })
          .strict(),
      )
      .min(1),
    /** How firmware.json answers: base64 JSON (the default), or raw bytes. */
    firmwareEncoding: z.enum(['base64-json', 'octet-stream']).default('base64-json'),
  })
  .strict();

export type GadgetKeeperSeed = z.input<typeof gadgetKeeperSeedSchema>;

interface Version {
  id: string;
  name: string;
  description: string;
  firmware: Buffer;
}

interface Product {
  name: string;
  versions: Version[];
  target: Version;
  thingCount: number;
}

export interface EmulatedThing {
  thingId: string;
  serial: string;
  name: string;
  product: Product;
  apiKey: string;
  /** Every key issued for this thing, oldest first; all but the last are revoked. */
  issuedKeys: string[];
  targetVersionId: string;
  currentVersionId: string | undefined;
}

const newId = () => randomBytes(16).toString('hex');

/** The emulator's state, separate from HTTP so tests can read and seed it directly. */
export class GadgetKeeperState {
  readonly productsBySerial = new Map<string, Product>();
  readonly thingsBySerial = new Map<string, EmulatedThing>();
  readonly thingsById = new Map<string, EmulatedThing>();
  readonly firmwareEncoding: 'base64-json' | 'octet-stream';

  constructor(seed: GadgetKeeperSeed) {
    const parsed = parseOrThrow(gadgetKeeperSeedSchema, seed, 'GadgetKeeper emulator seed');
    this.firmwareEncoding = parsed.firmwareEncoding;
    for (const product of parsed.products) {
      const versions = product.versions.map((v) => ({
        id: v.id ?? newId(),
        name: v.name,
        description: v.description,
        firmware: 'base64' in v.firmware ? Buffer.from(v.firmware.base64, 'base64') : seededBytes(`${v.firmware.seed}:${v.name}`, v.firmware.size),
      }));
      const target = versions.find((v) => v.id === product.target || v.name === product.target) ?? versions.at(-1)!;
      const entry: Product = { name: product.name, versions, target, thingCount: 0 };
      for (const serial of product.serialNumbers) this.productsBySerial.set(serial, entry);
    }
  }

  /** Activation: a new thing, or the same thing with a new key and the old one revoked. */
  activate(serial: string): EmulatedThing | undefined {
    const product = this.productsBySerial.get(serial);
    if (!product) return undefined;
    let thing = this.thingsBySerial.get(serial);
    const apiKey = newId();
    if (!thing) {
      product.thingCount++;
      thing = {
        thingId: newId(),
        serial,
        name: `${product.name} ${product.thingCount}`,
        product,
        apiKey,
        issuedKeys: [],
        targetVersionId: product.target.id,
        currentVersionId: undefined,
      };
      this.thingsBySerial.set(serial, thing);
      this.thingsById.set(thing.thingId, thing);
    }
    thing.apiKey = apiKey;
    thing.issuedKeys.push(apiKey);
    return thing;
  }

  version(thing: EmulatedThing, id: string | undefined): Version | undefined {
    return thing.product.versions.find((v) => v.id === id);
  }
}

const versionJson = (v: Version) => ({ id: v.id, name: v.name, description: v.description });
const error = (status: number, message: string): EmulatorReply => ({ status, body: { error: message } });

/** Routes of the GadgetKeeper Provision API as the station's defaults describe them (shared/specs/cloud-backends.md). */
export function gadgetKeeperRouter(state: GadgetKeeperState) {
  return (request: EmulatorRequest): RouteResult => {
    const { method, path } = request;
    const activate = /^\/v1\/things\/activate\/([^/]+)\.json$/.exec(path);
    if (activate && method === 'PUT') {
      const serial = decodeURIComponent(activate[1]!);
      return {
        step: 'activate',
        run: () => {
          const thing = state.activate(serial);
          if (!thing) return error(404, `serial number ${serial} is not registered`);
          return { status: 200, body: { thingId: thing.thingId, apiKey: thing.apiKey } };
        },
      };
    }
    const thingRoute = /^\/v1\/things\/([0-9a-f]{32})(\.json|\/versions\/(target|current)\.json|\/versions\/([0-9a-f]{32})\/firmware\.json)$/.exec(path);
    if (!thingRoute) return { step: 'unknown', run: () => error(404, 'no such resource') };
    const thing = state.thingsById.get(thingRoute[1]!);
    const key = (request.headers['x-apikey'] as string | undefined) ?? request.query.get('ApiKey') ?? undefined;
    const authorised = (run: () => EmulatorReply) => (): EmulatorReply => {
      if (!thing || key !== thing.apiKey) return error(401, 'invalid or revoked api key');
      return run();
    };
    const json = () => {
      try {
        return JSON.parse(request.body.toString('utf8')) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    };
    if (thingRoute[2] === '.json' && method === 'PUT') {
      return {
        step: 'rename',
        run: authorised(() => {
          const name = json()?.name;
          if (typeof name !== 'string' || name.length === 0 || name.length > 200) return error(400, 'name is required');
          thing!.name = name;
          return { status: 204 };
        }),
      };
    }
    if (thingRoute[3] === 'target' && method === 'GET') {
      return { step: 'target-version', run: authorised(() => ({ status: 200, body: versionJson(state.version(thing!, thing!.targetVersionId)!) })) };
    }
    if (thingRoute[3] === 'current' && method === 'GET') {
      return {
        step: 'current-version',
        run: authorised(() => {
          const version = state.version(thing!, thing!.currentVersionId);
          return version ? { status: 200, body: versionJson(version) } : error(404, 'the thing has no current version');
        }),
      };
    }
    if (thingRoute[3] === 'current' && method === 'PUT') {
      return {
        step: 'confirm-version',
        run: authorised(() => {
          const id = json()?.id;
          if (typeof id !== 'string' || !state.version(thing!, id)) return error(400, 'unknown version id');
          thing!.currentVersionId = id;
          return { status: 204 };
        }),
      };
    }
    if (thingRoute[4] && method === 'GET') {
      return {
        step: 'download',
        run: authorised(() => {
          const version = state.version(thing!, thingRoute[4]);
          if (!version) return error(404, 'no such version');
          if (state.firmwareEncoding === 'octet-stream') {
            return { status: 200, headers: { 'content-type': 'application/octet-stream' }, body: version.firmware };
          }
          return { status: 200, body: { firmware: version.firmware.toString('base64') } };
        }),
      };
    }
    return { step: 'unknown', run: () => error(405, 'method not allowed') };
  };
}

export interface GadgetKeeperEmulator extends RunningEmulator {
  state: GadgetKeeperState;
}

export async function startGadgetKeeperEmulator(seed: GadgetKeeperSeed, options: { port?: number; host?: string } = {}): Promise<GadgetKeeperEmulator> {
  const state = new GadgetKeeperState(seed);
  const running = await serveEmulator(gadgetKeeperRouter(state), options);
  return { ...running, state };
}

export const DEMO_GADGETKEEPER_SEED: GadgetKeeperSeed = {
  products: [
    {
      name: 'Thermometer',
      serialNumbers: demoSerials(),
      versions: [
        { name: '1.0.0', description: 'factory image', firmware: { size: 128 * 1024 } },
        { name: '1.1.0', description: 'current release', firmware: { size: 256 * 1024 } },
      ],
      target: '1.1.0',
    },
  ],
};
