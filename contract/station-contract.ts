import { z } from 'zod';
import { PIPELINE_STEPS } from './pipeline-steps.ts';

/**
 * The contract between the station core and any screen: Electron's preload
 * bridge and the WebSocket of `station serve` carry the same calls and the
 * same updates. Both ends validate what they receive against these schemas,
 * and nothing here ever carries a secret.
 */

/** Electron's IPC channels: calls from the page, updates to it. */
export const CALL_CHANNEL = 'station:call';
export const UPDATE_CHANNEL = 'station:update';

const text = (max: number) => z.string().max(max);

/** The longest failure, problem or reason text a tile, the header or a history row carries; the station fits longer text to it. */
export const FAILURE_TEXT_MAX = 4000;
/** The longest error a refused call answers with. */
export const ANSWER_ERROR_MAX = 8000;
/** The longest problem a port listing carries. */
export const PORT_LIST_PROBLEM_MAX = 1000;
/** The longest problem a settings check puts next to a field; the station fits longer text to it. */
export const FIELD_PROBLEM_MAX = 2000;
/** The most problems one settings check answers with. */
export const FIELD_PROBLEMS_MAX = 64;
/** The longest note the header carries (the last scan, why the demo line runs in memory). */
export const HEADER_NOTE_MAX = 1000;
/** The longest serial number a tile, a history row or a label carries; the station refuses a unit that reports a longer one. */
export const SERIAL_MAX = 128;
const count = z.number().int().min(0);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const discoveredPortSchema = z
  .object({
    path: text(512).min(1),
    vendorId: text(8).optional(),
    productId: text(8).optional(),
    serialNumber: text(128).optional(),
    manufacturer: text(256).optional(),
  })
  .strict();

export const portListSchema = z
  .object({
    ports: z.array(discoveredPortSchema).max(1024),
    /** Set when the OS could not enumerate ports; says what to do. */
    problem: text(PORT_LIST_PROBLEM_MAX).optional(),
  })
  .strict();
export type PortList = z.infer<typeof portListSchema>;

export const pipelineStepSchema = z.enum(PIPELINE_STEPS);
export const stepStateSchema = z.enum(['pending', 'started', 'done', 'skipped', 'failed']);

/**
 * What a port's tile shows: idle (no line), waiting (for a unit), working, or
 * the last unit's result; attention: a person must act at the port (replug,
 * set the unit aside); cancelled: the operator or a stopped line ended it.
 */
export const tileStateSchema = z.enum(['idle', 'waiting', 'working', 'passed', 'pending', 'failed', 'attention', 'cancelled']);
export type TileState = z.infer<typeof tileStateSchema>;

/**
 * The one thing to do about a unit that did not pass: try it again (a button),
 * plug it in again (a person at the port), or set it aside (it cannot pass
 * here: a duplicate serial, a unit the cloud refuses).
 */
export const tileActionSchema = z.enum(['retry', 'replug', 'set-aside']);
export type TileAction = z.infer<typeof tileActionSchema>;

export const recentUnitSchema = z
  .object({ unitId: count.optional(), serial: text(SERIAL_MAX).optional(), result: z.enum(['passed', 'failed', 'pending', 'cancelled']), at: z.number() })
  .strict();

export const tileSchema = z
  .object({
    port: text(512),
    /** The port's name on the fixture ("A3"; 1…N by default): tiles are ordered and titled by it. */
    slot: text(32).min(1),
    serial: text(SERIAL_MAX).optional(),
    state: tileStateSchema,
    /** For a unit that did not pass: the one action that fits its failure. */
    action: tileActionSchema.optional(),
    /** The steps the engine planned for this unit (its plan event), in order, with where the unit is in them. */
    steps: z.array(z.object({ step: pipelineStepSchema, state: stepStateSchema }).strict()).max(PIPELINE_STEPS.length),
    step: pipelineStepSchema.optional(),
    progress: z
      .object({ step: z.enum(['download', 'flash']), bytesDone: count, total: count, bytesPerSecond: z.number().min(0), secondsLeft: z.number().min(0).optional() })
      .strict()
      .optional(),
    startedAt: z.number().optional(),
    finishedAt: z.number().optional(),
    failure: z.object({ step: pipelineStepSchema.optional(), message: text(FAILURE_TEXT_MAX) }).strict().optional(),
    /** The unit waits for the operator (a label to scan, something to confirm), until `until` (epoch ms). */
    prompt: z.object({ id: text(64), kind: z.enum(['scan', 'confirm']), text: text(500), until: z.number() }).strict().optional(),
    /** The unit needs what only the cloud can give and waits for it, until `until` (epoch ms). */
    waitingForCloud: z.object({ reason: text(FAILURE_TEXT_MAX), until: z.number() }).strict().optional(),
    /** The unit's pinned firmware file is being written: the unit waits for it to stand still, until `until` (epoch ms). */
    waitingForFile: z.object({ reason: text(FAILURE_TEXT_MAX), until: z.number() }).strict().optional(),
    unitId: count.optional(),
    /** The unit passed but its label was not printed: why, and the attempt whose label Reprint prints. */
    labelNotPrinted: z.object({ attemptId: count, reason: text(FAILURE_TEXT_MAX) }).strict().optional(),
    /** Units done on this port, newest first. */
    recent: z.array(recentUnitSchema).max(20),
    /** Units from this port whose cloud calls wait in the outbox. */
    queued: count,
  })
  .strict();
export type Tile = z.infer<typeof tileSchema>;

const fraction = z.number().min(0).max(1);

/**
 * A period's figures, counted by unit (its serial number), not by try: a unit
 * tried three times is one unit; cancelled tries count for nothing.
 */
export const lineFiguresSchema = z
  .object({
    /** Start of the period (epoch ms). */
    since: z.number(),
    /** Units with a finished try in the period. */
    units: count,
    /** Units whose last try passed (cloud done), passed with cloud calls waiting, or failed. */
    passed: count,
    pending: count,
    failed: count,
    /** Tries the operator or a stopped line cancelled. */
    cancelled: count,
    /** Units that passed on their first try ÷ units; undefined before the first unit. */
    firstPassYield: fraction.optional(),
    /** Units whose last try passed ÷ units. */
    finalYield: fraction.optional(),
    /** Median duration of a finished try, in seconds. */
    medianSeconds: z.number().min(0).optional(),
  })
  .strict();
export type LineFigures = z.infer<typeof lineFiguresSchema>;

/** Units per hour over a rolling window; while the window is not yet full, it says so (warm-up), with what it has so far. */
export const lineRateSchema = z
  .object({
    windowMinutes: z.number().int().min(1),
    /** How much of the window has data (minutes), less than windowMinutes while warming up. */
    minutesMeasured: z.number().min(0),
    /** Units finished in the measured part. */
    units: count,
    /** undefined until a unit finished and a minute was measured. */
    unitsPerHour: z.number().min(0).optional(),
    warmingUp: z.boolean(),
  })
  .strict();
export type LineRate = z.infer<typeof lineRateSchema>;

/** Where the line's ports are: how many, at work, done with their unit, waiting for one, needing a person; and the whole line's progress. */
export const lineProgressSchema = z
  .object({ ports: count, working: count, done: count, waiting: count, attention: count, fraction })
  .strict();
export type LineProgress = z.infer<typeof lineProgressSchema>;

/** An operator's name as signed in (typed, or read from a badge), as records and labels carry it. */
export const operatorNameSchema = z
  .string()
  .trim()
  .min(1, 'give a name')
  .max(64, 'a name is at most 64 characters')
  .regex(/^[^\x00-\x1f\x7f]+$/, 'a name has no control characters');

/** Who runs the line now: in every attempt's record and on every label. */
export const signedInSchema = z.object({ name: operatorNameSchema, via: z.enum(['typed', 'badge']) }).strict();
export type SignedIn = z.infer<typeof signedInSchema>;

export const headerSchema = z
  .object({
    configured: z.boolean(),
    /** The operator signed in at the station, if any. */
    operator: signedInSchema.optional(),
    /** Operator mode: an engineer PIN is set, so changing the line needs it. */
    engineerPinSet: z.boolean(),
    /** The last scan from a serial scanner: where it went, or why it was refused. */
    lastScan: z.object({ ok: z.boolean(), message: text(HEADER_NOTE_MAX), at: z.number() }).strict().optional(),
    demo: z.boolean(),
    /** The demo line's units run in memory, not on ptys through the serial code: why (socat missing or failing). */
    demoInMemory: text(HEADER_NOTE_MAX).optional(),
    lineRunning: z.boolean(),
    /** When the line was last started (epoch ms), while it has been since the station opened. */
    lineStartedAt: z.number().optional(),
    /** Whether the cloud answers: 'unknown' until it has been reached (or shown out of reach) once. */
    cloud: z.enum(['unknown', 'online', 'offline']),
    outboxPending: count,
    /** The shift: since this station started. */
    shift: lineFiguresSchema,
    /** Since the line was last started. */
    line: lineFiguresSchema.optional(),
    rate: lineRateSchema,
    progress: lineProgressSchema,
    /** A problem with the whole station (configuration, cloud), in plain words. */
    problem: text(FAILURE_TEXT_MAX).optional(),
  })
  .strict();
export type Header = z.infer<typeof headerSchema>;

export const snapshotSchema = z.object({ header: headerSchema, tiles: z.array(tileSchema).max(256) }).strict();
export type Snapshot = z.infer<typeof snapshotSchema>;

export const attemptResultSchema = z.enum(['in-progress', 'passed', 'failed', 'pending', 'cancelled']);

/** One try of a unit: History shows every one, a retry as the unit's next attempt. */
export const historyRowSchema = z
  .object({
    /** The attempt's id. */
    id: count,
    /** The unit's record (what Retry takes). */
    unitId: count,
    /** 1 for the unit's first try at this station, 2 for the next… */
    attempt: z.number().int().min(1),
    serial: text(SERIAL_MAX),
    port: text(512),
    slot: text(32).optional(),
    result: attemptResultSchema,
    failedStep: text(64).optional(),
    error: text(FAILURE_TEXT_MAX).optional(),
    thingId: text(256).optional(),
    versionId: text(128).optional(),
    startedAt: z.number(),
    finishedAt: z.number().optional(),
    /** Traceability: who ran it, on which station, with which line configuration (SHA-256, secrets left out) and firmware (SHA-256). */
    operator: text(128).optional(),
    stationId: text(64).optional(),
    configHash: sha256.optional(),
    firmwareSha256: sha256.optional(),
    /** Its label: printed, or not printed (labelProblem says why); absent when it was given none. */
    label: z.enum(['printed', 'not printed']).optional(),
    labelProblem: text(FAILURE_TEXT_MAX).optional(),
  })
  .strict();
export type HistoryRow = z.infer<typeof historyRowSchema>;

/** What History may ask for: part of a serial, a result, a port or slot, a date range (epoch ms, `to` excluded). */
export const historyQuerySchema = z
  .object({
    serial: text(SERIAL_MAX).optional(),
    result: attemptResultSchema.optional(),
    port: text(512).optional(),
    from: z.number().optional(),
    to: z.number().optional(),
    limit: z.number().int().min(1).max(10_000).optional(),
  })
  .strict();
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

/** A cloud backend's id: which ones exist is the station's registry's to say, and each screen is told (SettingsView.backends). */
const backendSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/);

/** One field of a backend on the Settings screen, besides its address and its secret. */
export const settingsFieldSchema = z
  .object({
    name: text(64).min(1),
    label: text(128).min(1),
    kind: z.enum(['text', 'number', 'choice']),
    choices: z.array(text(64)).max(64).optional(),
    required: z.boolean(),
  })
  .strict();
export type SettingsField = z.infer<typeof settingsFieldSchema>;

/** A cloud backend as the Settings screen offers it. */
export const backendChoiceSchema = z
  .object({
    id: backendSchema,
    label: text(128).min(1),
    defaultUrl: text(2048).optional(),
    fields: z.array(settingsFieldSchema).max(32),
    /** The one secret this backend takes (product key, password), if any. */
    secretLabel: text(128).optional(),
    /** False: the backend serves no firmware, so a file from the firmware folder is pinned. */
    servesFirmware: z.boolean(),
  })
  .strict();
export type BackendChoice = z.infer<typeof backendChoiceSchema>;

/** A port of the line: its path, and the slot name the fixture gives it (1…N in order when none). */
export const portSettingSchema = z.object({ path: text(512).min(1), slot: text(32).optional() }).strict();
export type PortSetting = z.infer<typeof portSettingSchema>;

/** A settings field the station refused, for the form to show next to it: "Password is required". */
export const fieldProblemSchema = z.object({ field: text(64), label: text(128), message: text(FIELD_PROBLEM_MAX) }).strict();
export type FieldProblem = z.infer<typeof fieldProblemSchema>;

/**
 * Labels as Settings edits them: the scan check on or off (with the pattern
 * that finds the serial in a scan), and the printer ("tcp://host:port", or
 * "cups:QUEUE"; none: no labels printed) with its ZPL template.
 */
export const labelSettingsSchema = z
  .object({
    check: z.boolean(),
    pattern: text(500).optional(),
    printer: text(600).optional(),
    template: text(16_384).optional(),
  })
  .strict();
export type LabelSettings = z.infer<typeof labelSettingsSchema>;

/** Settings as a screen sees them: secrets are never sent back, only whether one is stored. */
export const settingsViewSchema = z
  .object({
    backend: backendSchema.optional(),
    url: text(2048).optional(),
    /** Exosite vendor/model, Fleet Freedom user/company/provider: the non-secret identity fields. */
    fields: z.record(text(64), text(256)),
    secretStored: z.boolean(),
    ports: z.array(portSettingSchema).max(256),
    autoStart: z.boolean(),
    thingNameTemplate: text(200).optional(),
    labels: labelSettingsSchema,
    /** The label template used when Settings gives none (a 2×1 inch label with Code 128 and QR). */
    defaultLabelTemplate: text(16_384),
    /** The raw TCP label printers the station policy lets a screen name. */
    labelPrintersAllowed: z.array(text(600)).max(64),
    profileName: text(256),
    /** Where firmware files a screen names or uploads live (the station policy's firmware folder). */
    firmwareFolder: text(4096).optional(),
    /** The tcp:// ports the station policy lets a screen use. */
    tcpPortsAllowed: z.array(text(512)).max(256).optional(),
    /** The cloud backends this station speaks, with the fields each takes. */
    backends: z.array(backendChoiceSchema).max(32),
    /** What the station runs now, when a line is open: its cloud and its ports with their slots. */
    running: z.object({ backend: backendSchema, url: text(2048), ports: z.array(z.object({ path: text(512), slot: text(32) }).strict()).max(256), source: text(4096).optional() }).strict().optional(),
    /** Device profiles built into the station, offered without a file. */
    builtInProfiles: z.array(z.object({ name: text(64).min(1), description: text(500).optional() }).strict()).max(64),
  })
  .strict();
export type SettingsView = z.infer<typeof settingsViewSchema>;

/** What a screen may save; an empty or absent secret keeps the stored one. */
export const settingsInputSchema = z
  .object({
    backend: backendSchema,
    url: text(2048).min(1),
    fields: z.record(text(64), text(256)),
    secret: text(4096).optional(),
    ports: z.array(z.union([text(512).min(1), portSettingSchema])).max(256),
    autoStart: z.boolean(),
    thingNameTemplate: text(200).optional(),
    /** Absent: the labels as they were. */
    labels: labelSettingsSchema.optional(),
  })
  .strict();
export type SettingsInput = z.infer<typeof settingsInputSchema>;

/** Raw bytes per firmware chunk: a chunk, base64 in JSON, stays well under one WebSocket message (1.1 MB). */
export const FIRMWARE_CHUNK_BYTES = 256 * 1024;

export const firmwareUploadStartSchema = z
  .object({
    /** The file's own name; the station stores it under a safe version of it. */
    name: text(255).min(1),
    size: z
      .number()
      .int()
      .min(1)
      .max(1024 * 1024 * 1024),
  })
  .strict();
export type FirmwareUploadStart = z.infer<typeof firmwareUploadStartSchema>;

export const firmwareChunkSchema = z
  .object({
    upload: text(64).min(1),
    offset: z.number().int().min(0),
    data: z
      .string()
      .min(4)
      .max(Math.ceil(FIRMWARE_CHUNK_BYTES / 3) * 4)
      .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64'),
  })
  .strict();
export type FirmwareChunk = z.infer<typeof firmwareChunkSchema>;

/**
 * A screen unlocked with the engineer PIN locks itself after this long
 * without a change to the line, so one the engineer walked away from does
 * not stay open to whoever comes to the station next. Reading (history,
 * settings) does not count: screens read by themselves.
 */
export const ENGINEER_IDLE_MS = 15 * 60_000;

/** What this screen's connection may do: whether it was unlocked with the engineer PIN (once, on this connection only). */
export const sessionViewSchema = z
  .object({
    operator: signedInSchema.optional(),
    /** This screen was unlocked with the engineer PIN: it may change the line until it locks or disconnects. */
    engineer: z.boolean(),
    /** Operator mode is on: an engineer PIN is set. Without one, every screen may change the line (as its transport allows). */
    engineerPinSet: z.boolean(),
    /** While unlocked: how long until this screen locks itself unless the engineer changes the line meanwhile (ms, from this answer). */
    engineerLocksInMs: z.number().int().nonnegative().optional(),
  })
  .strict();
export type SessionView = z.infer<typeof sessionViewSchema>;

/** The engineer PIN as a screen sends it, once, to unlock or to set it. */
export const pinSchema = z.string().min(4, 'the PIN has at least 4 characters').max(64, 'the PIN has at most 64 characters');

const portName = text(512).min(1);
const none = z.tuple([]);
const ok = z.object({ ok: z.literal(true) }).strict();

/** Every call a screen may make: its parameters and its answer, both validated. */
export const methods = {
  snapshot: { params: none, result: snapshotSchema },
  listPorts: { params: none, result: portListSchema },
  startLine: { params: none, result: ok },
  stopLine: { params: none, result: ok },
  startPort: { params: z.tuple([portName]), result: ok },
  cancelPort: { params: z.tuple([portName]), result: ok },
  retryUnit: { params: z.tuple([count]), result: ok },
  replayOutbox: { params: none, result: ok },
  /** Prints an attempt's label again (History, or a tile whose label was not printed), with the values it had. */
  reprintLabel: { params: z.tuple([count]), result: ok },
  history: { params: z.tuple([historyQuerySchema]), result: z.array(historyRowSchema) },
  exportCsv: { params: z.tuple([historyQuerySchema.omit({ limit: true })]), result: z.string() },
  /** The same attempts and columns as the CSV, as a JSON array (what station history --format json prints). */
  exportJson: { params: z.tuple([historyQuerySchema.omit({ limit: true })]), result: z.string() },
  getSettings: { params: none, result: settingsViewSchema },
  saveSettings: { params: z.tuple([settingsInputSchema]), result: settingsViewSchema },
  /** The station's own checks on settings before they are saved: each problem with its field. Writes nothing. */
  checkSettings: { params: z.tuple([settingsInputSchema]), result: z.array(fieldProblemSchema).max(FIELD_PROBLEMS_MAX) },
  importProfile: { params: z.tuple([text(1_000_000)]), result: settingsViewSchema },
  useBuiltInProfile: { params: z.tuple([text(64).min(1)]), result: settingsViewSchema },
  startDemo: { params: none, result: ok },
  /** A label template filled with sample values, exactly as the station would print it: what Settings previews; or what is wrong with it. */
  previewLabel: { params: z.tuple([text(16_384)]), result: z.object({ zpl: text(40_000), problems: z.array(text(500)).max(32) }).strict() },
  /** The operator's answer on a port's tile, or a scan with no port (it goes to the one port waiting for a scan); answers with the port. */
  answerOperator: {
    params: z.tuple([z.object({ port: portName.optional(), promptId: text(64).optional(), value: text(4096) }).strict()]),
    result: z.object({ port: portName }).strict(),
  },
  /** This screen's session: who is signed in, whether this screen is unlocked for the engineer, whether operator mode is on. */
  session: { params: none, result: sessionViewSchema },
  /** An operator signs in at the station, by name or with a badge scan. */
  signIn: { params: z.tuple([signedInSchema]), result: sessionViewSchema },
  /** The operator signs out (and this screen locks, if it was unlocked). */
  signOut: { params: none, result: sessionViewSchema },
  /** Unlocks this screen's connection with the engineer PIN, checked against its scrypt hash; the screen need not keep or send it again. */
  unlockEngineer: { params: z.tuple([z.object({ pin: pinSchema }).strict()]), result: sessionViewSchema },
  lockEngineer: { params: none, result: sessionViewSchema },
  /** Sets the engineer PIN: when none is set yet, or to change it from a screen unlocked with the current one. Only its scrypt hash is kept. */
  setEngineerPin: { params: z.tuple([z.object({ pin: pinSchema }).strict()]), result: sessionViewSchema },
  startFirmwareUpload: { params: z.tuple([firmwareUploadStartSchema]), result: z.object({ upload: text(64), name: text(128) }).strict() },
  sendFirmwareChunk: {
    params: z.tuple([firmwareChunkSchema]),
    result: z
      .object({ received: count, done: z.boolean(), name: text(128), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() })
      .strict(),
  },
} as const;

export type Method = keyof typeof methods;
export type Params<M extends Method> = z.infer<(typeof methods)[M]['params']>;
export type Result<M extends Method> = z.infer<(typeof methods)[M]['result']>;

/**
 * Calls that change what the station is set up to do or write files on it,
 * and checkSettings, which runs the same checks (they look at the paths a
 * screen names, so it is no probe for a screen that may only watch).
 * `station serve` refuses them unless it was started to allow them
 * (--allow-settings); the app's own window may always make them.
 */
export const CONFIGURING_METHODS: ReadonlySet<Method> = new Set<Method>(['saveSettings', 'checkSettings', 'importProfile', 'useBuiltInProfile', 'startFirmwareUpload', 'sendFirmwareChunk', 'setEngineerPin']);

/**
 * Calls that change the line: its settings, profile and firmware, the demo,
 * starting and stopping it. In operator mode (an engineer PIN is set) they
 * need a screen unlocked with the PIN; the station refuses them otherwise,
 * whatever the screen shows. Running units (retry, cancel, answering a
 * prompt, reprinting a label) and History stay the operator's.
 */
export const ENGINEER_METHODS: ReadonlySet<Method> = new Set<Method>([...CONFIGURING_METHODS, 'startDemo', 'startLine', 'stopLine']);

export function isMethod(name: unknown): name is Method {
  return typeof name === 'string' && Object.hasOwn(methods, name);
}

/** What the station pushes to screens: a whole snapshot, then changed tiles and header. */
export const updateSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('snapshot'), snapshot: snapshotSchema }).strict(),
  z.object({ type: z.literal('tile'), tile: tileSchema }).strict(),
  z.object({ type: z.literal('header'), header: headerSchema }).strict(),
  /** From the transport itself: the link to the station broke (the screen shows it) or came back. */
  z.object({ type: z.literal('connection'), connected: z.boolean(), problem: text(500).optional() }).strict(),
]);
export type Update = z.infer<typeof updateSchema>;

/** The screen's API, whatever carries it: window.station in Electron, a WebSocket in a browser. */
export type StationBridge = { [M in Method]: (...params: Params<M>) => Promise<Result<M>> } & {
  /** Calls `listener` with every update; returns how to stop. */
  onUpdate(listener: (update: Update) => void): () => void;
};

/** Thrown in a screen when the station refused a call; the message is for the technician. */
export class StationCallError extends Error {
  override name = 'StationCallError';
}

/** The answer of a call on the wire, as both transports carry it. */
export const answerSchema = z.union([z.object({ ok: z.literal(true), value: z.unknown() }).strict(), z.object({ ok: z.literal(false), error: text(ANSWER_ERROR_MAX) }).strict()]);
export type Answer = z.infer<typeof answerSchema>;

/**
 * Builds a bridge from a transport's two primitives. Answers and updates are
 * validated here, so a screen never acts on a malformed message.
 */
export function createBridge(call: (method: Method, params: unknown[]) => Promise<unknown>, listen: (listener: (raw: unknown) => void) => () => void): StationBridge {
  const bridge: Record<string, unknown> = {};
  for (const method of Object.keys(methods) as Method[]) {
    bridge[method] = async (...params: unknown[]) => {
      const answer = answerSchema.safeParse(await call(method, params));
      if (!answer.success) throw new StationCallError(`${method}: the station sent a malformed answer`);
      if (!answer.data.ok) throw new StationCallError(answer.data.error);
      const value = methods[method].result.safeParse(answer.data.value);
      if (!value.success) throw new StationCallError(`${method}: the station sent a malformed answer`);
      return value.data;
    };
  }
  bridge.onUpdate = (listener: (update: Update) => void) =>
    listen((raw) => {
      const update = updateSchema.safeParse(raw);
      if (update.success) listener(update.data);
    });
  return bridge as StationBridge;
}
