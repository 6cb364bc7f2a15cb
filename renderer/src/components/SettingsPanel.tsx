import { useEffect, useState, type FormEvent } from 'react';
import type { BackendChoice, PortList, SettingsField, SettingsInput, SettingsView, StationBridge } from '../../../contract/station-contract.ts';
import { uploadFirmware } from '../firmware-upload.ts';
import { errorText } from '../format.ts';

/** A firmware file pinned from the firmware folder: the way for a backend that serves no firmware. */
const FIRMWARE_FIELDS: SettingsField[] = [
  { name: 'firmwarePath', label: 'Firmware file', kind: 'text', required: true },
  { name: 'firmwareVersion', label: 'Firmware version id', kind: 'text', required: true },
];

/** Cloud, credentials, ports, auto-start and the device profile. The stored secret is never shown, only replaced. */
export function SettingsPanel({ bridge }: { bridge: StationBridge }) {
  const [view, setView] = useState<SettingsView | undefined>();
  const [backendId, setBackendId] = useState<string>('');
  const [url, setUrl] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [secret, setSecret] = useState('');
  const [ports, setPorts] = useState('');
  const [autoStart, setAutoStart] = useState(true);
  const [template, setTemplate] = useState('');
  const [detected, setDetected] = useState<PortList | undefined>();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();

  const load = (settings: SettingsView) => {
    setView(settings);
    setBackendId(settings.backend ?? settings.backends[0]?.id ?? '');
    setUrl(settings.url ?? '');
    setFields(settings.fields);
    setPorts(settings.ports.join('\n'));
    setAutoStart(settings.autoStart);
    setTemplate(settings.thingNameTemplate ?? '');
  };
  useEffect(() => {
    bridge.getSettings().then(load, (error: unknown) => setMessage({ ok: false, text: errorText(error) }));
    bridge.listPorts().then(setDetected, () => undefined);
  }, [bridge]);

  const save = async (event: FormEvent) => {
    event.preventDefault();
    try {
      const input: SettingsInput = {
        backend: backendId,
        url,
        fields,
        ports: ports.split('\n').map((port) => port.trim()).filter(Boolean),
        autoStart,
        ...(secret ? { secret } : {}),
        ...(template.trim() ? { thingNameTemplate: template.trim() } : {}),
      };
      load(await bridge.saveSettings(input));
      setSecret('');
      setMessage({ ok: true, text: 'Saved. The line was reopened with these settings.' });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

  const importProfile = async (file: File | undefined) => {
    if (!file) return;
    try {
      load(await bridge.importProfile(await file.text()));
      setMessage({ ok: true, text: `Device profile ${file.name} imported.` });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

  const sendFirmware = async (file: File | undefined) => {
    if (!file) return;
    try {
      const name = await uploadFirmware(bridge, file, (fraction) => setMessage({ ok: true, text: `Uploading ${file.name}: ${Math.round(fraction * 100)} %` }));
      setFields((current) => ({ ...current, firmwarePath: name }));
      setMessage({ ok: true, text: `Firmware ${name} is in the firmware folder. Give its version id and save the settings to use it.` });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

  const useBuiltIn = async (name: string) => {
    try {
      load(await bridge.useBuiltInProfile(name));
      setMessage({ ok: true, text: `Device profile ${name} in use.` });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

  const backend: BackendChoice | undefined = view?.backends.find((choice) => choice.id === backendId);
  const backendFields = backend ? [...backend.fields, ...(backend.servesFirmware ? [] : FIRMWARE_FIELDS)] : [];

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'notice' : 'problem'}>
          {message.text}
        </p>
      )}
      <form className="settings" onSubmit={(event) => void save(event)}>
        <fieldset>
          <legend>Cloud</legend>
          <label>
            Backend
            <select value={backendId} onChange={(event) => setBackendId(event.target.value)}>
              {view?.backends.map((choice) => (
                <option key={choice.id} value={choice.id}>
                  {choice.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Address <input value={url} onChange={(event) => setUrl(event.target.value)} placeholder={backend?.defaultUrl ?? 'https://…'} required />
          </label>
          {backendFields.map((field) => (
            <FieldInput key={field.name} field={field} value={fields[field.name] ?? ''} onChange={(value) => setFields({ ...fields, [field.name]: value })} />
          ))}
          {backend && !backend.servesFirmware && (
            <label>
              Upload a firmware file <input type="file" onChange={(event) => void sendFirmware(event.target.files?.[0])} />
              {view?.firmwareFolder && <small>Firmware files are named from {view.firmwareFolder}.</small>}
            </label>
          )}
          {backend?.secretLabel && (
            <label>
              {backend.secretLabel}
              <input type="password" autoComplete="off" value={secret} onChange={(event) => setSecret(event.target.value)} placeholder={view?.secretStored ? 'stored, encrypted; type to replace' : 'not set'} />
            </label>
          )}
          <label>
            Thing name template <input value={template} onChange={(event) => setTemplate(event.target.value)} placeholder="ThermometerDevice-{serial}" />
          </label>
        </fieldset>
        <fieldset>
          <legend>Ports</legend>
          <label>
            One port per line
            <textarea rows={5} value={ports} onChange={(event) => setPorts(event.target.value)} />
          </label>
          <p className="hint">
            {view?.tcpPortsAllowed?.length
              ? `Serial device servers this station allows: ${view.tcpPortsAllowed.join(', ')}.`
              : 'Serial device servers (tcp://…) must first be listed in the station policy file by the operator.'}
          </p>
          {detected?.problem && <p className="problem">{detected.problem}</p>}
          {detected && detected.ports.length > 0 && (
            <ul className="detected" aria-label="Detected serial ports">
              {detected.ports.map((port) => (
                <li key={port.path}>
                  {port.path} {port.vendorId ? `(${port.vendorId}:${port.productId ?? '????'})` : ''}{' '}
                  <button type="button" onClick={() => setPorts((current) => (current.split('\n').includes(port.path) ? current : `${current.trim()}\n${port.path}`.trim()))}>
                    Add
                  </button>
                </li>
              ))}
            </ul>
          )}
          <label className="check">
            <input type="checkbox" checked={autoStart} onChange={(event) => setAutoStart(event.target.checked)} /> Start the line when the station opens
          </label>
        </fieldset>
        <button type="submit" className="primary">
          Save settings
        </button>
      </form>
      <fieldset>
        <legend>Device profile</legend>
        <p>In use: {view?.profileName ?? '…'}</p>
        <p>
          Built in:{' '}
          {view?.builtInProfiles.map((profile) => (
            <button key={profile.name} type="button" title={profile.description} onClick={() => void useBuiltIn(profile.name)} aria-pressed={view.profileName === profile.name}>
              {profile.name}
            </button>
          ))}
        </p>
        <label>
          Import a profile (JSON) <input type="file" accept="application/json,.json" onChange={(event) => void importProfile(event.target.files?.[0])} />
        </label>
      </fieldset>
    </section>
  );
}

/** One backend field as its kind asks: a list of choices, a number, or text. */
function FieldInput({ field, value, onChange }: { field: SettingsField; value: string; onChange: (value: string) => void }) {
  return (
    <label>
      {field.label}
      {field.kind === 'choice' ? (
        <select value={value} onChange={(event) => onChange(event.target.value)}>
          <option value="">Choose…</option>
          {field.choices?.map((choice) => (
            <option key={choice} value={choice}>
              {choice}
            </option>
          ))}
        </select>
      ) : (
        <input type={field.kind === 'number' ? 'number' : 'text'} value={value} onChange={(event) => onChange(event.target.value)} />
      )}
    </label>
  );
}
