import { lazy, Suspense, useEffect, useState } from 'react';
import type { FieldProblem, LabelSettings as Labels, StationBridge } from '../../../contract/station-contract.ts';
import { errorText } from '../format.ts';

/** The barcode code (bwip-js, about 300 kB) loads only when a preview is shown, not with the line screen. */
const LabelPreview = lazy(() => import('../label-preview/LabelPreview.tsx').then((module) => ({ default: module.LabelPreview })));

interface Props {
  bridge: StationBridge;
  labels: Labels;
  onChange: (labels: Labels) => void;
  defaultTemplate: string;
  printersAllowed: string[];
  problemsOf: (field: string) => FieldProblem[];
}

/**
 * Labels on the line: the scan check and the printer with its ZPL template,
 * and a preview of the label, filled with sample values by the station (the
 * same code that prints) and drawn here.
 */
export function LabelSettings({ bridge, labels, onChange, defaultTemplate, printersAllowed, problemsOf }: Props) {
  const template = labels.template ?? defaultTemplate;
  const [preview, setPreview] = useState<{ zpl: string; problems: string[] } | undefined>();
  useEffect(() => {
    // After a pause in typing, not at every key.
    const timer = setTimeout(() => {
      bridge.previewLabel(template).then(setPreview, (error: unknown) => setPreview({ zpl: '', problems: [errorText(error)] }));
    }, 250);
    return () => clearTimeout(timer);
  }, [bridge, template]);
  const field = (name: string) => ({ id: `field-${name}`, 'aria-invalid': problemsOf(name).length > 0, ...(problemsOf(name).length ? { 'aria-describedby': `problem-${name}` } : {}) });
  const problems = (name: string) =>
    problemsOf(name).length > 0 && (
      <div id={`problem-${name}`}>
        {problemsOf(name).map((problem) => (
          <p key={problem.message} className="field-error">
            {problem.message}
          </p>
        ))}
      </div>
    );
  return (
    <fieldset className="labels">
      <legend>Labels</legend>
      <label className="check">
        <input type="checkbox" checked={labels.check} onChange={(event) => onChange({ ...labels, check: event.target.checked })} /> Operators scan each unit's label before it is activated (a mismatch fails the unit)
      </label>
      <div className="field">
        <label htmlFor="field-labelPattern">Serial number in the label</label>
        <input {...field('labelPattern')} value={labels.pattern ?? ''} onChange={(event) => onChange({ ...labels, pattern: event.target.value })} placeholder="the whole scan; or e.g. /u/(?<serial>[A-Z0-9]+)$" />
        {problems('labelPattern')}
      </div>
      <div className="field">
        <label htmlFor="field-labelPrinter">Label printer</label>
        <input {...field('labelPrinter')} value={labels.printer ?? ''} onChange={(event) => onChange({ ...labels, printer: event.target.value })} placeholder="none; cups:zebra1 or tcp://10.0.0.9:9100" />
        <small>{printersAllowed.length ? `Raw printers this station allows: ${printersAllowed.join(', ')}.` : 'Raw printers (tcp://…) must first be listed in the station policy (labelPrinters); CUPS queues need no entry.'}</small>
        {problems('labelPrinter')}
      </div>
      <div className="field">
        <label htmlFor="field-labelTemplate">Label template (ZPL)</label>
        <textarea {...field('labelTemplate')} rows={9} cols={60} spellCheck={false} value={template} onChange={(event) => onChange({ ...labels, template: event.target.value })} />
        <small>Placeholders: {'{serial} {thingId} {versionId} {date} {slot} {operator}'}</small>
        {problems('labelTemplate')}
      </div>
      <div className="field">
        <span className="label">Preview, with sample values</span>
        {preview && preview.problems.length > 0 && (
          <div role="alert" className="field-error">
            {preview.problems.map((problem) => (
              <p key={problem}>{problem}</p>
            ))}
          </div>
        )}
        {preview && preview.zpl && (
          <Suspense fallback={<p>Drawing the label…</p>}>
            <LabelPreview zpl={preview.zpl} />
          </Suspense>
        )}
      </div>
    </fieldset>
  );
}
