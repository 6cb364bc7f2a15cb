import type { z } from 'zod';
import { FIELD_PROBLEM_MAX, FIELD_PROBLEMS_MAX } from '../../../contract/station-contract.ts';
import type { CloudBackendDescriptor } from '../cloud/cloud-backend.ts';
import { ConfigError } from '../errors.ts';
import { failureText } from './screen-text.ts';

/** One thing wrong with the settings, for the field the technician sees: its name on the form, its label, and what to do. */
export interface FieldProblem {
  field: string;
  label: string;
  message: string;
}

/** Form fields outside a backend's own: the names the Settings screen uses for them. */
export const FORM_LABELS: Record<string, string> = {
  backend: 'Backend',
  url: 'Address',
  ports: 'Ports',
  thingNameTemplate: 'Thing name template',
  firmwarePath: 'Firmware file',
  firmwareVersion: 'Firmware version id',
  autoStart: 'Start the line when the station opens',
  labelPattern: 'Serial number in the label',
  labelPrinter: 'Label printer',
  labelTemplate: 'Label template',
};

/** Settings the station refuses: the message lists every problem in plain words; `problems` puts each next to its field. */
export class SettingsRefused extends ConfigError {
  readonly problems: FieldProblem[];
  /** `what` says what did not happen: a save from a screen, or (at start) the saved settings opening the line. */
  constructor(problems: FieldProblem[], hint = 'Correct the fields named above on the Settings page.', what = 'settings not saved') {
    super(`${what}: ${problems.map((problem) => problem.message).join('; ')}`, { hint });
    this.problems = problems;
  }
}

export function fieldProblem(field: string, message: string, backend?: CloudBackendDescriptor): FieldProblem {
  return fitted({ field, label: labelOf(field, backend), message });
}

/** A problem whose message fits the contract: one may name a path up to 4096 characters long (a port's real path, the firmware folder). */
function fitted(problem: FieldProblem): FieldProblem {
  return { ...problem, message: failureText(problem.message, FIELD_PROBLEM_MAX) };
}

/**
 * At most as many problems as a check answers with (FIELD_PROBLEMS_MAX): a
 * screen may name 256 ports, each refused on its own. The last one kept says
 * how many more there are and on which fields.
 */
export function atMostProblems(problems: FieldProblem[]): FieldProblem[] {
  if (problems.length <= FIELD_PROBLEMS_MAX) return problems;
  const kept = problems.slice(0, FIELD_PROBLEMS_MAX - 1);
  const rest = problems.slice(FIELD_PROBLEMS_MAX - 1);
  const labels = [...new Set(rest.map((problem) => problem.label))].join(', ');
  return [...kept, fitted({ field: rest[0]!.field, label: rest[0]!.label, message: `and ${rest.length} more problems (${labels}) not listed: correct those above first` })];
}

/** The field's label as the Settings screen shows it. */
export function labelOf(field: string, backend?: CloudBackendDescriptor): string {
  if (field === 'secret') return backend?.settings.secret?.label ?? 'Secret';
  return backend?.settings.fields.find((candidate) => candidate.name === field)?.label ?? FORM_LABELS[field] ?? field;
}

/**
 * The line configuration schema's issues, put on the form's fields in words:
 * "Password is required", "Company id must be a number". `data` is what was
 * validated (a missing or empty value is "required").
 */
export function problemsFromIssues(issues: readonly z.core.$ZodIssue[], data: Record<string, unknown>, backend: CloudBackendDescriptor): FieldProblem[] {
  return issues.map((issue) => {
    const field = formField(issue.path, backend);
    const label = labelOf(field, backend);
    const value = valueAt(data, issue.path);
    // The backend's descriptor says what kind of value the field takes (the registry re-words its schema's issues).
    const kind = backend.settings.fields.find((candidate) => candidate.name === field);
    let message: string;
    if (value === undefined || value === '') message = `${label} is required`;
    else if ((kind?.kind === 'number' || (issue.code === 'invalid_type' && issue.expected === 'number')) && typeof value !== 'number') message = `${label} must be a number`;
    else if (kind?.kind === 'choice' && kind.choices) message = `${label} must be one of ${kind.choices.join(', ')}`;
    else if (issue.code === 'invalid_value') message = `${label} must be one of ${issue.values.map(String).join(', ')}`;
    else message = `${label}: ${issue.message}`;
    if (field === 'firmwarePath' && issue.path.at(-1) === 'source') message = issue.message.replace(/: pin a file.*$/, ': choose a firmware file and its version id');
    return fitted({ field, label, message });
  });
}

/** Which form field a configuration path comes from. */
function formField(path: readonly PropertyKey[], backend: CloudBackendDescriptor): string {
  const [section, key] = path.map(String);
  if (section === 'cloud') {
    if (key === undefined || key === 'backend') return 'backend';
    if (key === backend.settings.secret?.configKey) return 'secret';
    return key;
  }
  if (section === 'firmware') return key === 'versionId' ? 'firmwareVersion' : 'firmwarePath';
  if (section === 'labels') return key === 'check' ? 'labelPattern' : path[2] === 'template' ? 'labelTemplate' : 'labelPrinter';
  return section ?? 'backend';
}

function valueAt(data: Record<string, unknown>, path: readonly PropertyKey[]): unknown {
  let value: unknown = data;
  for (const key of path) value = value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}
