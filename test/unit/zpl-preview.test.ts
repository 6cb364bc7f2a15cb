import { describe, expect, it } from 'vitest';
import { DEFAULT_LABEL_TEMPLATE, renderLabel, sampleLabelValues } from '../../main/core/labels/label-template.ts';
import { parseZpl } from '../../renderer/src/label-preview/zpl.ts';

describe('the ZPL a label preview reads', () => {
  it('reads the default label, filled as the station prints it, into text, a Code 128 and a QR code at their field origins', () => {
    const zpl = renderLabel(DEFAULT_LABEL_TEMPLATE, sampleLabelValues(new Date('2026-11-30T08:00:00Z')));
    expect(parseZpl(zpl)).toEqual({
      width: 406,
      height: 203,
      elements: [
        { kind: 'text', x: 20, y: 12, height: 26, width: 26, text: 'SN THERM00000000000042' },
        { kind: 'code128', x: 20, y: 44, height: 50, moduleWidth: 2, text: 'THERM00000000000042', interpretation: 'none' },
        { kind: 'text', x: 20, y: 104, height: 18, width: 14, text: 'FW fedcba9876543210fedcba9876543210' },
        { kind: 'text', x: 20, y: 128, height: 18, width: 14, text: 'ID 0123456789abcdef0123456789abcdef' },
        { kind: 'text', x: 20, y: 152, height: 18, width: 14, text: '2026-11-30 A1 Sample Operator' },
        { kind: 'qr', x: 300, y: 100, magnification: 3, errorCorrection: 'Q', text: 'THERM00000000000042' },
      ],
      notPreviewed: [],
    });
  });

  it('keeps commas in field data, reads boxes, label size and interpretation lines, and lists what it does not draw', () => {
    const label = parseZpl('^XA^PW812^LL406^FX a comment, with commas ^FS^FO5,5^GB800,396,3^FS^FO10,20^ADN,36,20^FDa, b, c^FS^FO10,80^BY3^BCN,100,Y,Y^FD123^FS^FO10,300^BCN,50^FDX^FS^MMT^XZ');
    expect(label).toMatchObject({ width: 812, height: 406, notPreviewed: ['^MM'] });
    expect(label.elements).toEqual([
      { kind: 'box', x: 5, y: 5, width: 800, height: 396, thickness: 3 },
      { kind: 'text', x: 10, y: 20, height: 36, width: 20, text: 'a, b, c' },
      { kind: 'code128', x: 10, y: 80, height: 100, moduleWidth: 3, text: '123', interpretation: 'above' },
      { kind: 'code128', x: 10, y: 300, height: 50, moduleWidth: 3, text: 'X', interpretation: 'below' },
    ]);
  });
});
