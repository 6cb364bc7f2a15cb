import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { BackendChoice, FieldProblem, LabelSettings as Labels, PortList, PortSetting, SettingsField, SettingsInput, SettingsView, StationBridge } from '../../../contract/station-contract.ts';
import { uploadFirmware } from '../firmware-upload.ts';
import { errorText } from '../format.ts';
import type { ScreenSessionState } from '../use-session.ts';
import { EngineerPin } from './EngineerPin.tsx';
import { LabelSettings } from './LabelSettings.tsx';

/** A firmware file pinned from the firmware folder: the way for a backend that serves no firmware. */
const FIRMWARE_FIELDS: SettingsField[] = [
  { name: 'firmwarePath', label: 'Firmware file', kind: 'text', required: true },
  { name: 'firmwareVersion', label: 'Firmware version id', kind: 'text', required: true },
];

/**
 * Cloud, credentials, ports, auto-start, labels and the device profile. The
 * stored secret is never shown, only replaced. In operator mode they are the
 * engineer's: this screen must be unlocked with the engineer PIN first (the
 * station refuses the calls otherwise, whatever this screen shows).
 */
export function SettingsPanel({ bridge, session }: { bridge: StationBridge; session: ScreenSessionState }) {
  const pinSet = session.session?.engineerPinSet ?? false;
  if (!session.mayChangeLine) {
    return (
      <section aria-labelledby="settings-title">
        <h2 id="settings-title">Settings</h2>
        <EngineerPin bridge={bridge} session={session} mode="unlock" />
      </section>
    );
  }
  return <SettingsForms bridge={bridge} session={session} pinSet={pinSet} />;
}

function SettingsForms({ bridge, session, pinSet }: { bridge: StationBridge; session: ScreenSessionState; pinSet: boolean }) {
  const [view, setView] = useState<SettingsView | undefined>();
  const [backendId, setBackendId] = useState<string>('');
  const [url, setUrl] = useState('');
  const [fields, setFields] = useState<Record<string, string>>({});
  const [secret, setSecret] = useState('');
  const [ports, setPorts] = useState<PortSetting[]>([]);
  const [problems, setProblems] = useState<FieldProblem[]>([]);
  const [autoStart, setAutoStart] = useState(true);
  const [template, setTemplate] = useState('');
  const [labels, setLabels] = useState<Labels>({ check: false });
  const [detected, setDetected] = useState<PortList | undefined>();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | undefined>();

  const load = (settings: SettingsView) => {
    setView(settings);
    setBackendId(settings.backend ?? settings.backends[0]?.id ?? '');
    setUrl(settings.url ?? '');
    setFields(settings.fields);
    setPorts(settings.ports);
    setAutoStart(settings.autoStart);
    setTemplate(settings.thingNameTemplate ?? '');
    setLabels(settings.labels);
  };
  useEffect(() => {
    bridge.getSettings().then(load, (error: unknown) => setMessage({ ok: false, text: errorText(error) }));
    bridge.listPorts().then(setDetected, () => undefined);
  }, [bridge]);

  // A refused save asks the station's own checks which fields were wrong: each problem goes next to its field, in the field's words.
  const save = async (event: FormEvent) => {
    event.preventDefault();
    let input: SettingsInput | undefined;
    try {
      input = {
        backend: backendId,
        url,
        fields,
        ports: ports.filter((port) => port.path.trim()).map((port) => (port.slot?.trim() ? { path: port.path.trim(), slot: port.slot.trim() } : { path: port.path.trim() })),
        autoStart,
        ...(secret ? { secret } : {}),
        ...(template.trim() ? { thingNameTemplate: template.trim() } : {}),
        labels,
      };
      load(await bridge.saveSettings(input));
      setSecret('');
      setProblems([]);
      setMessage({ ok: true, text: 'Saved. The line was reopened with these settings.' });
    } catch (error) {
      // A screen that may not configure is not told more than that.
      const found = input ? await bridge.checkSettings(input).catch(() => []) : [];
      setProblems(found);
      setMessage({ ok: false, text: found.length > 0 ? `Not saved: ${found.length === 1 ? 'one field needs' : `${found.length} fields need`} correcting (shown below).` : errorText(error) });
    }
  };
  const problemsOf = (field: string) => problems.filter((problem) => problem.field === field);

  const importProfile = async (file: File | undefined) => {
    if (!file) return;
    try {
      // Only the profile changed: the cloud and ports being edited above stay as typed, unsaved.
      setView(await bridge.importProfile(await file.text()));
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
      setView(await bridge.useBuiltInProfile(name));
      setMessage({ ok: true, text: `Device profile ${name} in use.` });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };

  const backend: BackendChoice | undefined = view?.backends.find((choice) => choice.id === backendId);
  const running = view?.running;
  const runningBackend = view?.backends.find((choice) => choice.id === running?.backend);
  const backendFields = backend ? [...backend.fields, ...(backend.servesFirmware ? [] : FIRMWARE_FIELDS)] : [];

  return (
    <section aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <EngineerPin bridge={bridge} session={session} mode={pinSet ? 'change' : 'set'} />
      {message && (
        <p role={message.ok ? 'status' : 'alert'} className={message.ok ? 'notice' : 'problem'}>
          {message.text}
        </p>
      )}
      {running && (
        <p className="running" data-testid="running-line">
          Running now: {runningBackend?.label ?? running.backend} at {running.url}, {running.ports.length} port{running.ports.length === 1 ? '' : 's'}
          {running.ports.length > 0 && ` (slots ${running.ports.map((port) => port.slot).join(', ')})`}
          {running.source && `, from ${running.source}`}.
        </p>
      )}
      <form className="settings" onSubmit={(event) => void save(event)} noValidate>
        <fieldset>
          <legend>Cloud</legend>
          <Field name="backend" label="Backend" problems={problemsOf('backend')}>
            {(props) => (
              <select {...props} value={backendId} onChange={(event) => setBackendId(event.target.value)}>
                {view?.backends.map((choice) => (
                  <option key={choice.id} value={choice.id}>
                    {choice.label}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field name="url" label="Address" problems={problemsOf('url')}>
            {(props) => <input {...props} value={url} onChange={(event) => setUrl(event.target.value)} placeholder={backend?.defaultUrl ?? 'https://…'} />}
          </Field>
          {backendFields.map((field) => (
            <FieldInput key={field.name} field={field} value={fields[field.name] ?? ''} problems={problemsOf(field.name)} onChange={(value) => setFields({ ...fields, [field.name]: value })} />
          ))}
          {backend && !backend.servesFirmware && (
            <label>
              Upload a firmware file <input type="file" onChange={(event) => void sendFirmware(event.target.files?.[0])} />
              {view?.firmwareFolder && <small>Firmware files are named from {view.firmwareFolder}.</small>}
            </label>
          )}
          {backend?.secretLabel && (
            <Field name="secret" label={backend.secretLabel} problems={problemsOf('secret')}>
              {(props) => (
                <input {...props} type="password" autoComplete="off" value={secret} onChange={(event) => setSecret(event.target.value)} placeholder={view?.secretStored ? 'stored, encrypted; type to replace' : 'not set'} />
              )}
            </Field>
          )}
          <Field name="thingNameTemplate" label="Thing name template" problems={problemsOf('thingNameTemplate')}>
            {(props) => <input {...props} value={template} onChange={(event) => setTemplate(event.target.value)} placeholder="ThermometerDevice-{serial}" />}
          </Field>
        </fieldset>
        <fieldset aria-describedby={problemsOf('ports').length ? 'problem-ports' : undefined}>
          <legend>Ports</legend>
          <p className="hint">Each port with its slot name on the fixture (A1, A2… or 1, 2…); tiles are titled and ordered by slot. Without one, a port is numbered by its place.</p>
          <div className="port-rows">
            {ports.map((port, index) => (
              <div className="port-row" key={index}>
                <input aria-label={`Slot of port ${index + 1}`} value={port.slot ?? ''} placeholder={String(index + 1)} onChange={(event) => setPorts(ports.map((p, i) => (i === index ? { ...p, slot: event.target.value } : p)))} />
                <input aria-label={`Port ${index + 1}`} value={port.path} placeholder="/dev/ttyACM0" onChange={(event) => setPorts(ports.map((p, i) => (i === index ? { ...p, path: event.target.value } : p)))} />
                <button type="button" onClick={() => setPorts(ports.filter((_, i) => i !== index))} aria-label={`Remove port ${index + 1}`}>
                  Remove
                </button>
              </div>
            ))}
          </div>
          <button type="button" onClick={() => setPorts([...ports, { path: '' }])}>
            Add a port
          </button>
          <Problems id="problem-ports" problems={problemsOf('ports')} />
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
                  <button type="button" onClick={() => setPorts((current) => (current.some((entry) => entry.path === port.path) ? current : [...current.filter((entry) => entry.path.trim()), { path: port.path }]))}>
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
        {view && <LabelSettings bridge={bridge} labels={labels} onChange={setLabels} defaultTemplate={view.defaultLabelTemplate} printersAllowed={view.labelPrintersAllowed} problemsOf={problemsOf} />}
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

interface ControlProps {
  id: string;
  'aria-invalid': boolean;
  'aria-describedby'?: string;
}

/** A labelled control with the station's problems for it right below, tied to it for screen readers. */
function Field({ name, label, problems, children }: { name: string; label: string; problems: FieldProblem[]; children: (props: ControlProps) => ReactNode }) {
  const id = `field-${name}`;
  const problemId = `problem-${name}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': problems.length > 0, ...(problems.length ? { 'aria-describedby': problemId } : {}) })}
      <Problems id={problemId} problems={problems} />
    </div>
  );
}

function Problems({ id, problems }: { id: string; problems: FieldProblem[] }) {
  if (problems.length === 0) return null;
  return (
    <div id={id}>
      {problems.map((problem) => (
        <p key={problem.message} className="field-error">
          {problem.message}
        </p>
      ))}
    </div>
  );
}

/** One backend field as its kind asks: a list of choices, a number, or text. */
function FieldInput({ field, value, problems, onChange }: { field: SettingsField; value: string; problems: FieldProblem[]; onChange: (value: string) => void }) {
  return (
    <Field name={field.name} label={field.label} problems={problems}>
      {(props) =>
        field.kind === 'choice' ? (
          <select {...props} value={value} onChange={(event) => onChange(event.target.value)}>
            <option value="">Choose…</option>
            {field.choices?.map((choice) => (
              <option key={choice} value={choice}>
                {choice}
              </option>
            ))}
          </select>
        ) : (
          <input {...props} type={field.kind === 'number' ? 'number' : 'text'} inputMode={field.kind === 'number' ? 'numeric' : undefined} value={value} onChange={(event) => onChange(event.target.value)} />
        )
      }
    </Field>
  );
}
