import { useEffect, useState, type FormEvent } from 'react';
import type { PortList, SettingsInput, SettingsView, StationBridge } from '../../../preload/contract.ts';
import { REFERENCE_PROFILE, REFERENCE_WINDOW_PROFILE } from '../../../main/core/devices/profile/reference-profile.ts';
import { uploadFirmware } from '../firmware-upload.ts';
import { errorText } from '../format.ts';

/** Profiles that ship with the station: plain data, offered without a file. */
const BUILT_IN = [REFERENCE_PROFILE, REFERENCE_WINDOW_PROFILE];

type Backend = SettingsInput['backend'];
const FIELDS: Record<Backend, Array<{ name: string; label: string }>> = {
  gadgetkeeper: [],
  exosite: [
    { name: 'vendor', label: 'Vendor' },
    { name: 'model', label: 'Model' },
  ],
  fleetfreedom: [
    { name: 'username', label: 'User name' },
    { name: 'company', label: 'Company id' },
    { name: 'providerKind', label: 'Provider kind' },
    { name: 'firmwarePath', label: 'Firmware file' },
    { name: 'firmwareVersion', label: 'Firmware version id' },
  ],
};
const SECRET_LABEL: Record<Backend, string> = { gadgetkeeper: 'Product key', exosite: 'Secret (unused)', fleetfreedom: 'Password' };

/** Cloud, credentials, ports, auto-start and the device profile. The stored secret is never shown, only replaced. */
export function SettingsPanel({ bridge }: { bridge: StationBridge }) {
  const [view, setView] = useState<SettingsView | undefined>();
  const [backend, setBackend] = useState<Backend>('gadgetkeeper');
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
    setBackend(settings.backend ?? 'gadgetkeeper');
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
        backend,
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

  const useBuiltIn = async (profile: (typeof BUILT_IN)[number]) => {
    try {
      load(await bridge.importProfile(JSON.stringify(profile)));
      setMessage({ ok: true, text: `Device profile ${profile.name} in use.` });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

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
            <select value={backend} onChange={(event) => setBackend(event.target.value as Backend)}>
              <option value="gadgetkeeper">GadgetKeeper</option>
              <option value="exosite">Exosite</option>
              <option value="fleetfreedom">Fleet Freedom</option>
            </select>
          </label>
          <label>
            Address <input value={url} onChange={(event) => setUrl(event.target.value)} placeholder="https://…" required />
          </label>
          {FIELDS[backend].map((field) => (
            <label key={field.name}>
              {field.label}
              <input value={fields[field.name] ?? ''} onChange={(event) => setFields({ ...fields, [field.name]: event.target.value })} />
            </label>
          ))}
          {backend === 'fleetfreedom' && (
            <label>
              Upload a firmware file <input type="file" onChange={(event) => void sendFirmware(event.target.files?.[0])} />
              {view?.firmwareFolder && <small>Firmware files are named from {view.firmwareFolder}.</small>}
            </label>
          )}
          {backend !== 'exosite' && (
            <label>
              {SECRET_LABEL[backend]}
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
          {BUILT_IN.map((profile) => (
            <button key={profile.name} type="button" onClick={() => void useBuiltIn(profile)} aria-pressed={view?.profileName === profile.name}>
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
