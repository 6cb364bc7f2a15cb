import { existsSync } from 'node:fs';
import { ENGINEER_IDLE_MS, type SessionView, type SignedIn } from '../../../contract/station-contract.ts';
import { StationError } from '../errors.ts';
import { formatDuration } from '../format.ts';
import { storeEngineerPin, storedPinHash, verifyPin } from '../operator/engineer-pin.ts';
import { Journal } from '../storage/journal.ts';
import type { SecretBox } from '../storage/secret-box.ts';

/** What the transport that carried a call lets its caller do. */
export interface CallerAccess {
  /** May the caller change settings, import profiles and upload firmware (CONFIGURING_METHODS)? */
  mayConfigure: boolean;
  /** Why not, and how to allow it: shown to the caller when a configuring call is refused. */
  refusal?: string;
}

/**
 * One screen's connection (a WebSocket, the app's window): what its
 * transport allows, and whether it was unlocked with the engineer PIN. The
 * PIN is checked once and never kept: the connection keeps only the fact,
 * which PIN it was (the stored hash it matched), and when the engineer last
 * changed the line from it.
 */
export interface ScreenSession extends CallerAccess {
  engineer: boolean;
  /** The stored PIN hash the unlock matched: a PIN changed or cleared since locks the screen. */
  engineerPinHash?: string;
  /** When the unlock was last used (the unlock itself, or a call that changed the line), on OperatorAccess's monotonic clock. */
  engineerActiveAt: number;
}

export function screenSession(access: CallerAccess): ScreenSession {
  return { ...access, engineer: false, engineerActiveAt: 0 };
}

/** Wrong PINs in a row before the station stops checking PINs for a while. */
const MAX_WRONG_PINS = 5;
/**
 * The first pause; each one after it, with no right PIN between, is twice as
 * long, up to an hour: a fixed minute would let a screen try 7200 PINs a
 * day, every 4-digit PIN within two days.
 */
const LOCKOUT_MS = 60_000;
const MAX_LOCKOUT_MS = 60 * 60_000;

/**
 * Who runs the line and who may change it: the operator signed in at the
 * station (one for the station, shown on every screen, in every record), and
 * the engineer PIN, whose scrypt hash lives in the data folder's journal
 * (`station engineer-pin set`, or the first one set from a screen). The hash
 * is read at every check, so a PIN set from the command line applies at once.
 * PIN checks run one at a time, and after five wrong ones in a row none is
 * checked for a minute, then two, four… up to an hour until the right one:
 * a screen cannot try every PIN.
 */
export class OperatorAccess {
  private readonly journalPath: string;
  private readonly box: SecretBox;
  private readonly now: () => number;
  private journal: Journal | undefined;
  private checks: Promise<unknown> = Promise.resolve();
  private wrong = 0;
  /** Pauses since the last right PIN: each one is longer. */
  private lockouts = 0;
  private lockedUntil = 0;
  /** The operator signed in at the station. */
  signedIn: SignedIn | undefined;

  /** `now`: the clock of the idle lock and the PIN lockout; by default a monotonic one, so a wall clock set back keeps no screen unlocked. */
  constructor(options: { journalPath: string; box: SecretBox; now?: () => number }) {
    this.journalPath = options.journalPath;
    this.box = options.box;
    this.now = options.now ?? (() => Math.floor(performance.now()));
  }

  /** Whether operator mode is on (a PIN is set). Throws when the journal cannot be read: the caller refuses, it does not guess. */
  pinSet(): boolean {
    const journal = this.pinJournal(false);
    return journal !== undefined && storedPinHash(journal) !== undefined;
  }

  /** What a screen's connection may do now. */
  view(session: ScreenSession): SessionView {
    const pinSet = this.pinSet();
    const engineer = this.engineerUnlocked(session) && pinSet;
    return {
      ...(this.signedIn ? { operator: this.signedIn } : {}),
      engineer,
      engineerPinSet: pinSet,
      ...(engineer ? { engineerLocksInMs: Math.max(0, session.engineerActiveAt + ENGINEER_IDLE_MS - this.now()) } : {}),
    };
  }

  /**
   * Whether `session` is unlocked now. An unlock left unused for
   * ENGINEER_IDLE_MS has locked itself, and so has one made with a PIN that
   * was changed or cleared since (a PIN changed because it leaked must not
   * leave the screens it opened open). Never throws: a PIN that cannot be
   * read locks.
   */
  engineerUnlocked(session: ScreenSession): boolean {
    if (!session.engineer) return false;
    if (this.now() - session.engineerActiveAt >= ENGINEER_IDLE_MS || this.currentPinHash() !== session.engineerPinHash) {
      session.engineer = false;
      session.engineerPinHash = undefined;
    }
    return session.engineer;
  }

  /** The engineer changed the line from `session`: its unlock runs for another ENGINEER_IDLE_MS. */
  engineerActed(session: ScreenSession): void {
    if (session.engineer) session.engineerActiveAt = this.now();
  }

  /** Unlocks `session` when `pin` matches the stored hash. */
  unlock(session: ScreenSession, pin: string): Promise<SessionView> {
    return this.oneAtATime(async () => {
      const journal = this.pinJournal(false);
      const hash = journal && storedPinHash(journal);
      if (hash === undefined) {
        throw new StationError('NO_ENGINEER_PIN', 'no engineer PIN is set, so this station is not in operator mode', { hint: 'Set one in Settings, or with station engineer-pin set.' });
      }
      const wait = this.lockedUntil - this.now();
      if (wait > 0) throw new StationError('PIN_LOCKED', `${MAX_WRONG_PINS} wrong PINs in a row: no PIN is checked for ${formatDuration(wait)}`, { hint: 'Wait, then type the engineer PIN again.' });
      if (!(await verifyPin(pin, hash))) {
        this.wrong++;
        if (this.wrong >= MAX_WRONG_PINS) {
          this.wrong = 0;
          this.lockedUntil = this.now() + Math.min(MAX_LOCKOUT_MS, LOCKOUT_MS * 2 ** this.lockouts);
          this.lockouts++;
        }
        throw new StationError('PIN_WRONG', 'that is not the engineer PIN', { hint: 'Type it again; ask the line\'s engineer if you do not know it.' });
      }
      this.wrong = 0;
      this.lockouts = 0;
      session.engineer = true;
      session.engineerPinHash = hash;
      session.engineerActiveAt = this.now();
      return this.view(session);
    });
  }

  /** Sets the PIN when none is set yet, or changes it from a screen unlocked with the current one; the screen that set it is unlocked. */
  setPin(session: ScreenSession, pin: string): Promise<SessionView> {
    return this.oneAtATime(async () => {
      if (this.pinSet() && !this.engineerUnlocked(session)) {
        throw new StationError('ENGINEER_ONLY', 'an engineer PIN is already set; only a screen unlocked with it may change it', { hint: 'Unlock with the current PIN first, or set it with station engineer-pin set.' });
      }
      const journal = this.pinJournal(true)!;
      await storeEngineerPin(journal, pin);
      session.engineer = true;
      session.engineerPinHash = storedPinHash(journal);
      session.engineerActiveAt = this.now();
      return this.view(session);
    });
  }

  /** The stored PIN's hash now; undefined when none is set or it cannot be read. */
  private currentPinHash(): string | undefined {
    try {
      const journal = this.pinJournal(false);
      return journal && storedPinHash(journal);
    } catch {
      return undefined;
    }
  }

  close(): void {
    this.journal?.close();
    this.journal = undefined;
  }

  /**
   * The data folder's own journal, opened once (its settings hold the PIN's
   * hash); apart from the demo line's. Not created just to be read: a folder
   * without a journal has no PIN.
   */
  private pinJournal(create: boolean): Journal | undefined {
    if (!this.journal && (create || existsSync(this.journalPath))) this.journal = Journal.open(this.journalPath, this.box);
    return this.journal;
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const next = this.checks.then(work, work);
    this.checks = next.catch(() => undefined);
    return next;
  }
}
