import { demoSerials } from '../emulators/demo-serials.ts';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { parseOrThrow } from '../../validation.ts';
import { serveEmulator, seededBytes, type EmulatorReply, type EmulatorRequest, type RouteResult, type RunningEmulator } from '../emulators/http-emulator.ts';

export const exositeSeedSchema = z
  .object({
    models: z
      .array(
        z
          .object({
            vendor: z.string().min(1),
            model: z.string().min(1),
            /** Serial numbers enabled for activation. */
            serialNumbers: z.array(z.string().min(1).max(64)),
            content: z
              .array(
                z
                  .object({
                    id: z.string().min(1).max(100),
                    contentType: z.string().default('application/octet-stream'),
                    description: z.string().default(''),
                    updated: z.number().int().optional(),
                    firmware: z.union([z.object({ base64: z.string() }).strict(), z.object({ size: z.number().int().min(1), seed: z.string().default('firmware') }).strict()]),
                  })
                  .strict(),
              )
              .default([]),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export type ExositeSeed = z.input<typeof exositeSeedSchema>;

interface Content {
  id: string;
  contentType: string;
  description: string;
  updated: number;
  data: Buffer;
}

interface Model {
  vendor: string;
  model: string;
  serials: Map<string, { enabled: boolean; cik?: string }>;
  content: Map<string, Content>;
}

interface Device {
  model: Model;
  serial: string;
  aliases: Map<string, string>;
}

export class ExositeState {
  readonly models = new Map<string, Model>();
  readonly devicesByCik = new Map<string, Device>();
  /** Activation calls that issued a CIK, per serial number. */
  readonly activations = new Map<string, number>();

  constructor(seed: ExositeSeed) {
    const parsed = parseOrThrow(exositeSeedSchema, seed, 'Exosite emulator seed');
    let clock = 1_700_000_000;
    for (const entry of parsed.models) {
      const content = new Map<string, Content>();
      for (const item of entry.content) {
        const data = 'base64' in item.firmware ? Buffer.from(item.firmware.base64, 'base64') : seededBytes(`${item.firmware.seed}:${item.id}`, item.firmware.size);
        content.set(item.id, { id: item.id, contentType: item.contentType, description: item.description, updated: item.updated ?? clock++, data });
      }
      this.models.set(key(entry.vendor, entry.model), {
        vendor: entry.vendor,
        model: entry.model,
        serials: new Map(entry.serialNumbers.map((sn) => [sn, { enabled: true }])),
        content,
      });
    }
  }

  model(vendor: string | null, model: string | null): Model | undefined {
    return vendor && model ? this.models.get(key(vendor, model)) : undefined;
  }

  /** What a vendor does in the Exosite portal to let a serial number activate again. */
  reenable(vendor: string, model: string, serial: string): void {
    const entry = this.model(vendor, model)?.serials.get(serial);
    if (!entry) throw new Error(`unknown serial ${serial}`);
    if (entry.cik) this.devicesByCik.delete(entry.cik);
    entry.enabled = true;
    delete entry.cik;
  }

  /**
   * What a vendor does in the Exosite portal to publish new bytes under a
   * content id (a fix re-uploaded as "firmware.bin"): the id stays, its
   * updated time moves on.
   */
  upload(vendor: string, model: string, id: string, data: Buffer, details: { description?: string } = {}): void {
    const entry = this.model(vendor, model);
    if (!entry) throw new Error(`unknown model ${vendor}/${model}`);
    const previous = entry.content.get(id);
    const updated = Math.max(Math.floor(Date.now() / 1000), (previous?.updated ?? 0) + 1);
    entry.content.set(id, { id, contentType: previous?.contentType ?? 'application/octet-stream', description: details.description ?? previous?.description ?? '', updated, data });
  }

  aliasOf(vendor: string, model: string, serial: string, alias: string): string | undefined {
    const cik = this.model(vendor, model)?.serials.get(serial)?.cik;
    return cik ? this.devicesByCik.get(cik)?.aliases.get(alias) : undefined;
  }
}

const key = (vendor: string, model: string) => `${vendor}\u0000${model}`;
const text = (status: number, body = ''): EmulatorReply => ({ status, headers: { 'content-type': 'text/plain; charset=utf-8' }, body });

/** Parses "bytes=X-Y", "bytes=X-" and "bytes=-Y" against a length; undefined if unsatisfiable. */
function parseRange(header: string, length: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (match[1] === '') {
    start = Math.max(0, length - Number(match[2]));
    end = length - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === '' ? length - 1 : Math.min(Number(match[2]), length - 1);
  }
  return start <= end && start < length ? { start, end } : undefined;
}

/** Exosite's provisioning API v1.1 as shared/specs/cloud-backends.md describes it. */
export function exositeRouter(state: ExositeState) {
  return (request: EmulatorRequest): RouteResult => {
    const { method, path, query } = request;
    const cik = request.headers['x-exosite-cik'] as string | undefined;
    const device = cik ? state.devicesByCik.get(cik) : undefined;

    if (path === '/provision/activate' && method === 'POST') {
      return {
        step: 'activate',
        run: () => {
          const form = new URLSearchParams(request.body.toString('utf8'));
          const model = state.model(form.get('vendor'), form.get('model'));
          if (!model) return text(403, 'invalid vendor/model');
          const serial = form.get('sn') ?? '';
          const entry = model.serials.get(serial);
          if (!entry) return text(404, 'unknown serial number');
          if (!entry.enabled || entry.cik) return text(409, 'not enabled for activation, expired, or already activated');
          const newCik = randomBytes(20).toString('hex');
          entry.cik = newCik;
          entry.enabled = false;
          state.devicesByCik.set(newCik, { model, serial, aliases: new Map() });
          state.activations.set(serial, (state.activations.get(serial) ?? 0) + 1);
          return text(200, newCik);
        },
      };
    }

    if (path === '/provision/download' && method === 'GET') {
      const model = state.model(query.get('vendor'), query.get('model'));
      const id = query.get('id');
      const info = query.get('info') === 'true';
      const step = id === null ? 'list' : info ? 'info' : 'download';
      return {
        step,
        run: () => {
          // The documented quirk: a bad vendor/model is 400 for info but 403 for list and download.
          if (!model) return text(info ? 400 : 403, 'invalid vendor/model');
          if (!device || device.model !== model) return text(401, 'invalid CIK');
          if (id === null) return text(200, [...model.content.keys()].join('\n'));
          const content = model.content.get(id);
          if (!content) return text(404, 'no such content');
          if (info) return text(200, `${content.contentType},${content.data.length},${content.updated},${content.description}`);
          const range = request.headers.range;
          if (range === undefined) return { status: 200, headers: { 'content-type': content.contentType, 'accept-ranges': 'bytes' }, body: content.data };
          const span = parseRange(range, content.data.length);
          if (!span) return { status: 416, headers: { 'content-range': `bytes */${content.data.length}` }, body: '' };
          return {
            status: 206,
            headers: { 'content-type': content.contentType, 'content-range': `bytes ${span.start}-${span.end}/${content.data.length}` },
            body: content.data.subarray(span.start, span.end + 1),
          };
        },
      };
    }

    if (path === '/onep:v1/stack/alias') {
      if (method === 'POST') {
        return {
          step: 'write-alias',
          run: () => {
            if (!device) return text(401, 'invalid CIK');
            for (const [alias, value] of new URLSearchParams(request.body.toString('utf8'))) device.aliases.set(alias, value);
            return { status: 204 };
          },
        };
      }
      if (method === 'GET') {
        return {
          step: 'read-alias',
          run: () => {
            if (!device) return text(401, 'invalid CIK');
            const answer = new URLSearchParams();
            for (const alias of query.keys()) {
              const value = device.aliases.get(alias);
              if (value !== undefined) answer.set(alias, value);
            }
            return text(200, answer.toString());
          },
        };
      }
    }

    if (path === '/timestamp' && method === 'GET') return { step: 'timestamp', run: () => text(200, String(Math.floor(Date.now() / 1000))) };
    return { step: 'unknown', run: () => text(404, 'not found') };
  };
}

export interface ExositeEmulator extends RunningEmulator {
  state: ExositeState;
}

export async function startExositeEmulator(seed: ExositeSeed, options: { port?: number; host?: string } = {}): Promise<ExositeEmulator> {
  const state = new ExositeState(seed);
  const running = await serveEmulator(exositeRouter(state), options);
  return { ...running, state };
}

export const DEMO_EXOSITE_SEED: ExositeSeed = {
  models: [
    {
      vendor: 'acme',
      model: 'thermometer',
      serialNumbers: demoSerials(),
      content: [{ id: 'thermometer-1.1.0.bin', description: 'current release', firmware: { size: 256 * 1024 } }],
    },
  ],
};
