/**
 * The part of ZPL a label preview needs, read into drawing elements in the
 * label's own dots: ^XA ^XZ (the label), ^FO (field origin), ^A0 / ^Af (font
 * and size), ^FD … ^FS (field data), ^BY (barcode defaults), ^BC (Code 128),
 * ^BQ (QR code), ^GB (box or line), ^CI (character set), ^PW / ^LL (label
 * size), ^FX (comment). Anything else is listed as not previewed, never
 * guessed at: the printer, not the preview, is the judge of the rest.
 */

export type LabelElement =
  | { kind: 'text'; x: number; y: number; height: number; width: number; text: string }
  | { kind: 'code128'; x: number; y: number; height: number; moduleWidth: number; text: string; interpretation: 'none' | 'below' | 'above' }
  | { kind: 'qr'; x: number; y: number; magnification: number; errorCorrection: 'H' | 'Q' | 'M' | 'L'; text: string }
  | { kind: 'box'; x: number; y: number; width: number; height: number; thickness: number };

export interface ParsedLabel {
  /** Label size in dots: ^PW and ^LL, else a 2×1 inch label at 203 dpi. */
  width: number;
  height: number;
  elements: LabelElement[];
  /** Commands the preview does not draw, each once, e.g. "^MM". */
  notPreviewed: string[];
}

const DEFAULT_SIZE = { width: 406, height: 203 };

/** A field waiting for its ^FD data: plain text, or a barcode a ^BC or ^BQ announced. */
type PendingField = { kind: 'text' } | { kind: 'code128'; height: number; interpretation: 'none' | 'below' | 'above' } | { kind: 'qr'; magnification: number };

export function parseZpl(zpl: string): ParsedLabel {
  const label: ParsedLabel = { ...DEFAULT_SIZE, elements: [], notPreviewed: [] };
  let origin = { x: 0, y: 0 };
  let font = { height: 30, width: 30 };
  const barcode = { moduleWidth: 2, height: 10 };
  let pending: PendingField = { kind: 'text' };
  const number = (text: string | undefined, fallback: number) => {
    const value = Number.parseFloat(text ?? '');
    return Number.isFinite(value) ? value : fallback;
  };
  for (const { code, args } of commands(zpl)) {
    const params = args.split(',');
    switch (code) {
      case 'XA':
      case 'XZ':
      case 'CI':
      case 'FS':
        pending = code === 'FS' ? { kind: 'text' } : pending;
        break;
      case 'FX':
        break;
      case 'PW':
        label.width = number(params[0], label.width);
        break;
      case 'LL':
        label.height = number(params[0], label.height);
        break;
      case 'FO':
        origin = { x: number(params[0], 0), y: number(params[1], 0) };
        break;
      case 'A': {
        // ^A0N,28,28: font 0, orientation N, height, width (width defaults to height).
        const [first = '', height, width] = params;
        const size = number(height ?? first.slice(2), font.height);
        font = { height: size, width: number(width, size) };
        break;
      }
      case 'BY':
        barcode.moduleWidth = number(params[0], barcode.moduleWidth);
        barcode.height = number(params[2], barcode.height);
        break;
      case 'BC': {
        // ^BCo,h,f,g,e,m: height, interpretation line (Y/N), above (Y/N).
        const interpretation = (params[2] ?? 'Y').toUpperCase() === 'N' ? 'none' : (params[3] ?? 'N').toUpperCase() === 'Y' ? 'above' : 'below';
        pending = { kind: 'code128', height: number(params[1], barcode.height), interpretation };
        break;
      }
      case 'BQ':
        // ^BQa,b,c: orientation, model, magnification.
        pending = { kind: 'qr', magnification: Math.min(10, Math.max(1, number(params[2], 2))) };
        break;
      case 'GB': {
        const thickness = number(params[2], 1);
        label.elements.push({ kind: 'box', ...origin, width: Math.max(number(params[0], 1), thickness), height: Math.max(number(params[1], 1), thickness), thickness });
        break;
      }
      case 'FD':
        label.elements.push(field(pending, origin, font, barcode.moduleWidth, args));
        break;
      default:
        if (!label.notPreviewed.includes(`^${code}`)) label.notPreviewed.push(`^${code}`);
    }
  }
  return label;
}

function field(pending: PendingField, origin: { x: number; y: number }, font: { height: number; width: number }, moduleWidth: number, data: string): LabelElement {
  if (pending.kind === 'code128') return { kind: 'code128', ...origin, height: pending.height, moduleWidth, text: data, interpretation: pending.interpretation };
  if (pending.kind === 'qr') {
    // "QA,data": error correction (H, Q, M, L), then the input mode, a comma, and the data.
    const match = /^([HQML])([AM]),(.*)$/s.exec(data);
    return { kind: 'qr', ...origin, magnification: pending.magnification, errorCorrection: (match?.[1] as 'H' | 'Q' | 'M' | 'L' | undefined) ?? 'Q', text: match ? match[3]! : data };
  }
  return { kind: 'text', ...origin, height: font.height, width: font.width, text: data };
}

/** The commands in order: ^FD's data runs to the next ^FS (it may hold commas and spaces); others run to the next ^ or ~. */
function* commands(zpl: string): Generator<{ code: string; args: string }> {
  let at = zpl.search(/[\^~]/);
  while (at >= 0 && at < zpl.length) {
    const code = zpl.slice(at + 1, at + 3).toUpperCase();
    if (code === 'FD' || code === 'FX') {
      const end = zpl.slice(at + 3).search(/\^FS/i);
      const stop = end < 0 ? zpl.length : at + 3 + end;
      yield { code, args: zpl.slice(at + 3, stop) };
      at = stop;
      continue;
    }
    // ^A takes its font name in the code's second character: ^A0N,28,28, ^ADN,18,10.
    const isFont = code.startsWith('A') && code !== 'A@';
    const argsStart = isFont ? at + 2 : at + 3;
    const next = zpl.slice(argsStart).search(/[\^~]/);
    const stop = next < 0 ? zpl.length : argsStart + next;
    yield { code: isFont ? 'A' : code, args: zpl.slice(argsStart, stop).trim() };
    at = stop;
  }
}
