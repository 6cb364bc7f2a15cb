import { describe, expect, it } from 'vitest';
import { CancelledError } from '../../main/core/errors.ts';
import { OperatorPrompts } from '../../main/core/engine/operator-prompts.ts';
import { DEFAULT_LABEL_TEMPLATE, labelTemplateProblems, renderLabel, sampleLabelValues } from '../../main/core/labels/label-template.ts';
import { hashPin, verifyPin } from '../../main/core/operator/engineer-pin.ts';

describe('label templates', () => {
  it('fills the placeholders, and a value cannot inject ZPL commands', () => {
    const label = renderLabel('^XA^FO10,10^FD{serial} {operator}^FS^XZ', { serial: 'SN1', operator: 'Eve^XZ^XA~JR' });
    expect(label).toBe('^XA^FO10,10^FDSN1 EveXZXAJR^FS^XZ');
    expect(renderLabel(DEFAULT_LABEL_TEMPLATE, sampleLabelValues(new Date('2026-11-30T00:00:00Z')))).toContain('^FDQA,THERM00000000000042^FS');
  });

  it('refuses a template that is not one label or names an unknown placeholder', () => {
    expect(labelTemplateProblems('^FD{serial}^FS')).toEqual(['must be one ZPL label, from ^XA to ^XZ']);
    expect(labelTemplateProblems('^XA^FD{apiKey}^FS^XZ')).toEqual(['unknown placeholder {apiKey}; use {serial}, {thingId}, {versionId}, {date}, {slot}, {operator}']);
    expect(() => renderLabel('^XA^FD{apiKey}^FS^XZ', {})).toThrow(/label template is invalid/);
  });
});

describe('label templates that would let a value act as a command', () => {
  const field = '^FO10,10^FD{operator}^FS';

  it.each([
    ['^CC', 'changes the format prefix (^)'],
    ['~CC', 'changes the format prefix (^)'],
    ['^CT', 'changes the control prefix (~)'],
    ['~ct', 'changes the control prefix (~)'],
    ['^CD', 'changes the parameter delimiter (,)'],
    ['~CD', 'changes the parameter delimiter (,)'],
  ])('refuses %s, naming it and what to do, when validated and when rendered', (command, effect) => {
    const template = `^XA${command}%${field}^XZ`;
    const named = command.toUpperCase();
    expect(labelTemplateProblems(template)).toEqual([
      `${named} ${effect}, after which characters in a unit's or operator's values could act as printer commands; remove ${named}: labels are printed with ZPL's default ^ and ~ prefixes and , delimiter`,
    ]);
    expect(() => renderLabel(template, { operator: 'Eve%XZ' })).toThrow(`the label template is invalid: ${named} ${effect}`);
  });

  it('reads the template as the printer does, which ignores line breaks', () => {
    expect(labelTemplateProblems(`^XA^C\r\nC%${field}^XZ`)).toEqual([expect.stringContaining('^CC changes the format prefix')]);
  });

  it('refuses a placeholder where a command name goes', () => {
    expect(labelTemplateProblems('^XA^FO10,10^{operator}^XZ')).toEqual([expect.stringContaining('^{operator} puts a value where a command\'s name goes')]);
    expect(labelTemplateProblems('^XA^FO10,10~C{operator}^XZ')).toEqual([expect.stringContaining('~C{operator} puts a value')]);
    expect(() => renderLabel('^XA^FO10,10^{operator}^XZ', { operator: 'HH' })).toThrow(/label template is invalid/);
  });

  it('keeps accepting the commands labels use, ^CI among them', () => {
    expect(labelTemplateProblems(DEFAULT_LABEL_TEMPLATE)).toEqual([]);
    expect(labelTemplateProblems('^XA^CI28^FO1,1^FDQA,{serial}^FS^XZ')).toEqual([]);
  });
});

describe('the engineer PIN', () => {
  it('is kept as a salted scrypt hash, never in plain text, and checked', async () => {
    const a = await hashPin('4711');
    const b = await hashPin('4711');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(a).not.toContain('4711');
    expect(await verifyPin('4711', a)).toBe(true);
    expect(await verifyPin('4712', a)).toBe(false);
    expect(await verifyPin('4711', 'plain:4711')).toBe(false);
  });
});

describe('operator prompts', () => {
  it('a step waits for the answer on its own port while others go on', async () => {
    const prompts = new OperatorPrompts();
    const changes: Array<[string, string | undefined]> = [];
    prompts.onChange((port, prompt) => changes.push([port, prompt?.text]));
    const a = prompts.ask({ port: 'A', serial: 'SN-A', kind: 'scan', text: 'Scan the label of SN-A', timeoutMs: 10_000 });
    const b = prompts.ask({ port: 'B', serial: 'SN-B', kind: 'confirm', text: 'Is the LED green?', timeoutMs: 10_000 });
    expect(prompts.open().map((prompt) => prompt.port)).toEqual(['A', 'B']);
    prompts.answer('B', 'yes');
    expect(await b).toBe('yes');
    prompts.answer('A', 'SN-A');
    expect(await a).toBe('SN-A');
    expect(changes).toEqual([['A', 'Scan the label of SN-A'], ['B', 'Is the LED green?'], ['B', undefined], ['A', undefined]]);
    expect(() => prompts.answer('A', 'late')).toThrow('port A is not waiting for the operator');
  });

  it('a scan that names no port goes to the one port waiting for a scan, and is refused when none or several wait', async () => {
    const prompts = new OperatorPrompts();
    expect(() => prompts.scan('SN-X')).toThrow('a label was scanned, but no unit waits for a scan');
    const a = prompts.ask({ port: 'A', serial: 'SN-A', kind: 'scan', text: 'scan', timeoutMs: 10_000 });
    const b = prompts.ask({ port: 'B', serial: 'SN-B', kind: 'scan', text: 'scan', timeoutMs: 10_000 });
    expect(() => prompts.scan('SN-A')).toThrow('2 units wait for a scan (port A, port B)');
    prompts.answer('B', 'SN-B');
    await b;
    expect(prompts.scan('SN-A')).toBe('A');
    expect(await a).toBe('SN-A');
  });

  it('an answer to a prompt that has closed never answers the next prompt on the same port', async () => {
    const prompts = new OperatorPrompts();
    // The tile showed the first unit's prompt; it timed out, and the port now asks about the next unit.
    const firstAsked = prompts.ask({ port: 'A', serial: 'SN-1', kind: 'scan', text: 'Scan the label of SN-1', timeoutMs: 20 });
    const first = prompts.open()[0]!.id;
    await expect(firstAsked).rejects.toMatchObject({ code: 'OPERATOR_TIMEOUT' });
    const next = prompts.ask({ port: 'A', serial: 'SN-2', kind: 'scan', text: 'Scan the label of SN-2', timeoutMs: 10_000 });
    const [open] = prompts.open();
    expect(() => prompts.answer('A', 'SN-1', first)).toThrow('port A is not waiting for the operator');
    expect(prompts.open()).toEqual([open]);
    prompts.answer('A', 'SN-2', open!.id);
    expect(await next).toBe('SN-2');
  });

  it('a serial scanner bound to a port answers only a scan: a question to confirm waits for the operator', async () => {
    const prompts = new OperatorPrompts();
    const confirm = prompts.ask({ port: 'A', serial: 'SN-A', kind: 'confirm', text: 'Is the LED green?', timeoutMs: 10_000 });
    expect(() => prompts.scanFor('A', 'SN-A')).toThrow('a label was scanned for port A, but no unit there waits for a scan');
    expect(prompts.open().map((prompt) => prompt.kind)).toEqual(['confirm']);
    prompts.answer('A', 'yes');
    expect(await confirm).toBe('yes');
  });

  it('gives up after its time with what to do, and on cancel', async () => {
    const prompts = new OperatorPrompts();
    await expect(prompts.ask({ port: 'A', serial: 'SN', kind: 'scan', text: 'Scan the label', timeoutMs: 30 })).rejects.toMatchObject({ code: 'OPERATOR_TIMEOUT', message: 'no answer to "Scan the label" within 30 ms' });
    const controller = new AbortController();
    const pending = prompts.ask({ port: 'A', serial: 'SN', kind: 'scan', text: 'Scan', timeoutMs: 10_000, signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(CancelledError);
    expect(prompts.open()).toEqual([]);
  });
});
