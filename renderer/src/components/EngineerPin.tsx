import { useState, type FormEvent } from 'react';
import type { StationBridge } from '../../../contract/station-contract.ts';
import { errorText } from '../format.ts';
import type { ScreenSessionState } from '../use-session.ts';

/**
 * The engineer PIN on the Settings screen: unlock this screen with it (the
 * station checks it once, against its scrypt hash, and remembers the unlock
 * for this connection only), set the first one, or change it once unlocked.
 * The PIN is forgotten here as soon as it is sent.
 */
export function EngineerPin({ bridge, session, mode }: { bridge: StationBridge; session: ScreenSessionState; mode: 'unlock' | 'set' | 'change' }) {
  const [pin, setPin] = useState('');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const sent = pin;
    setPin('');
    const call = mode === 'unlock' ? bridge.unlockEngineer({ pin: sent }) : bridge.setEngineerPin({ pin: sent });
    call.then(
      (next) => {
        session.update(next);
        setMessage(mode === 'unlock' ? undefined : { ok: true, text: 'The engineer PIN is set: changing the line now needs it, on every screen.' });
      },
      (error: unknown) => setMessage({ ok: false, text: errorText(error) }),
    );
  };
  const words = {
    unlock: { legend: 'Engineer', hint: 'Settings, device profiles, firmware, the demo line and starting or stopping the line are the engineer\'s. Unlock this screen with the engineer PIN.', button: 'Unlock' },
    set: { legend: 'Engineer PIN (operator mode)', hint: 'No engineer PIN is set: every screen may change the line. Set one so that only the engineer can (operators still run units, retry, scan and reprint).', button: 'Set the PIN' },
    change: { legend: 'Engineer PIN', hint: 'Change the engineer PIN (at least 4 characters).', button: 'Change the PIN' },
  }[mode];
  return (
    <form className="engineer-pin" onSubmit={submit} aria-label={words.legend}>
      <fieldset>
        <legend>{words.legend}</legend>
        <p className="hint">{words.hint}</p>
        <label>
          {mode === 'unlock' ? 'Engineer PIN' : 'New engineer PIN'} <input type="password" value={pin} onChange={(event) => setPin(event.target.value)} autoComplete="off" inputMode="numeric" />
        </label>{' '}
        <button type="submit" className={mode === 'unlock' ? 'primary' : undefined} disabled={pin.length === 0}>
          {words.button}
        </button>
        {message && (
          <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'notice' : 'problem'}>
            {message.text}
          </p>
        )}
      </fieldset>
    </form>
  );
}
