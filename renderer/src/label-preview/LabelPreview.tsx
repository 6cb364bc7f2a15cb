import { code128, drawingSVG, qrcode } from 'bwip-js/browser';
import { useMemo } from 'react';
import { parseZpl, type LabelElement } from './zpl.ts';

/**
 * A label as the printer would draw it, from its ZPL: an SVG in the label's
 * own dots (a 2×1 inch label is 406×203 at 203 dpi). Barcodes are drawn by
 * bwip-js, a well-kept port of Barcode Writer in Pure PostScript (Code 128
 * and QR done right is more than a preview should reimplement), as SVG
 * images stretched to the modules ZPL asks for.
 */
/** Font 0's average character advance, as a fraction of the ^A width setting (CG Triumvirate Bold Condensed). */
const ZPL_FONT0_ADVANCE = 0.55;

export function LabelPreview({ zpl }: { zpl: string }) {
  const label = useMemo(() => parseZpl(zpl), [zpl]);
  return (
    <figure className="label-preview">
      <svg
        role="img"
        aria-label="Label preview"
        viewBox={`0 0 ${label.width} ${label.height}`}
        width={label.width * 1.5}
        height={label.height * 1.5}
        style={{ background: '#fff', border: '1px solid #888' }}
        data-testid="label-preview"
      >
        {label.elements.map((element, index) => (
          <Element key={index} element={element} />
        ))}
      </svg>
      {label.notPreviewed.length > 0 && <figcaption>Not shown in the preview (the printer still gets them): {label.notPreviewed.join(' ')}</figcaption>}
    </figure>
  );
}

function Element({ element }: { element: LabelElement }) {
  switch (element.kind) {
    case 'text':
      // ZPL's ^FO is the field's top left. Font 0 is a condensed bold sans whose characters are about
      // half their width setting wide: the text is fitted to that width, whatever font this browser has.
      return (
        <text
          x={element.x}
          y={element.y + element.height * 0.82}
          fontSize={element.height}
          fontFamily="'Arial Narrow', 'Liberation Sans Narrow', sans-serif"
          fontWeight="bold"
          textLength={element.text.length * element.width * ZPL_FONT0_ADVANCE}
          lengthAdjust="spacingAndGlyphs"
        >
          {element.text}
        </text>
      );
    case 'box':
      return <rect x={element.x + element.thickness / 2} y={element.y + element.thickness / 2} width={element.width - element.thickness} height={element.height - element.thickness} fill="none" stroke="#000" strokeWidth={element.thickness} />;
    case 'code128':
      return <Code128 element={element} />;
    case 'qr':
      return <Qr element={element} />;
  }
}

/** A bwip-js SVG as an image, and how wide it is in its own units (a linear barcode: one unit per module at scale 1). */
function barcodeSvg(draw: () => string): { href: string; modulesWide: number } | { error: string } {
  try {
    const svg = draw();
    const [, , width] = (/viewBox="([\d.\s]+)"/.exec(svg)?.[1] ?? '0 0 0 0').split(/\s+/).map(Number);
    return { href: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`, modulesWide: width ?? 0 };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function Code128({ element }: { element: Extract<LabelElement, { kind: 'code128' }> }) {
  const drawn = useMemo(() => barcodeSvg(() => code128({ bcid: 'code128', text: element.text || ' ', scale: 1, height: 10 }, drawingSVG())), [element.text]);
  if ('error' in drawn) return <BarcodeProblem x={element.x} y={element.y} what="Code 128" error={drawn.error} />;
  const width = drawn.modulesWide * element.moduleWidth;
  const textSize = 20;
  const barsY = element.interpretation === 'above' ? element.y + textSize + 2 : element.y;
  return (
    <g data-barcode="code128" data-text={element.text}>
      <image href={drawn.href} x={element.x} y={barsY} width={width} height={element.height} preserveAspectRatio="none" />
      {element.interpretation !== 'none' && (
        <text x={element.x + width / 2} y={element.interpretation === 'above' ? element.y + textSize : element.y + element.height + textSize} fontSize={textSize} textAnchor="middle" fontFamily="monospace">
          {element.text}
        </text>
      )}
    </g>
  );
}

function Qr({ element }: { element: Extract<LabelElement, { kind: 'qr' }> }) {
  const drawn = useMemo(() => {
    // eclevel is a BWIPP option bwip-js passes through; its types do not list it.
    const options = { bcid: 'qrcode', text: element.text || ' ', scale: 1, eclevel: element.errorCorrection };
    return barcodeSvg(() => qrcode(options, drawingSVG()));
  }, [element.text, element.errorCorrection]);
  if ('error' in drawn) return <BarcodeProblem x={element.x} y={element.y} what="QR code" error={drawn.error} />;
  // At scale 1 bwip-js draws a 2D symbol's module 2 units wide: a version 1 QR code (21 modules) is 42 units.
  const size = (drawn.modulesWide / 2) * element.magnification;
  return (
    <g data-barcode="qr" data-text={element.text}>
      {/* Zebra printers start a QR code about 10 dots below its field origin. */}
      <image href={drawn.href} x={element.x} y={element.y + 10} width={size} height={size} preserveAspectRatio="none" />
    </g>
  );
}

function BarcodeProblem({ x, y, what, error }: { x: number; y: number; what: string; error: string }) {
  return (
    <text x={x} y={y + 16} fontSize={14} fill="#b00">
      {what}: {error.slice(0, 80)}
    </text>
  );
}
