import { useEffect, useRef, useState, type KeyboardEvent } from 'react';
import type { StationBridge, Tile } from '../../../contract/station-contract.ts';
import { duration, errorText } from '../format.ts';
import { isPrintable, WedgeDetector } from '../wedge.ts';

interface Props {
  bridge: StationBridge;
  port: string;
  slot: string;
  prompt: NonNullable<Tile['prompt']>;
  now: number;
  /** The only prompt on the line: it takes the keyboard, unless the technician is typing elsewhere. */
  only: boolean;
}

/**
 * A unit waiting for the operator, on its tile: what to do, and an input for
 * the answer. A label must be scanned: a keyboard-wedge scan (a fast burst
 * ending in Enter) answers; a label typed by hand is refused, since a typed
 * serial number proves nothing about the label on the unit.
 */
export function PromptInput({ bridge, port, slot, prompt, now, only }: Props) {
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | undefined>();
  const input = useRef<HTMLInputElement>(null);
  const detector = useRef(new WedgeDetector());

  useEffect(() => {
    const active = document.activeElement;
    if (only && (active === null || active === document.body)) input.current?.focus();
  }, [only, prompt.id]);

  const answer = (text: string) => {
    bridge.answerOperator({ port, promptId: prompt.id, value: text }).then(
      () => setProblem(undefined),
      (error: unknown) => setProblem(errorText(error)),
    );
  };

  const onKey = (event: KeyboardEvent<HTMLInputElement>) => {
    if (isPrintable(event)) {
      detector.current.key(event.key, event.timeStamp);
      return;
    }
    if (event.key !== 'Enter') return;
    event.preventDefault();
    const result = detector.current.enter(event.timeStamp);
    const whole = event.currentTarget.value;
    setValue('');
    if (prompt.kind === 'confirm') return answer(whole);
    // Only a scan whose burst is the whole answer counts: typed keys before it make it typed.
    if (result.kind === 'scan' && result.text === whole) answer(whole);
    else setProblem('Scan the label with the scanner: a label typed by hand is not taken.');
  };

  return (
    <div className="prompt" data-testid="prompt">
      <label htmlFor={`prompt-${prompt.id}`}>
        <strong>{prompt.text}</strong> <span className="until">({duration(Math.max(0, prompt.until - now))} left)</span>
      </label>
      <input
        id={`prompt-${prompt.id}`}
        ref={input}
        value={value}
        onChange={(event) => setValue(event.target.value)}
        onKeyDown={onKey}
        placeholder={prompt.kind === 'scan' ? 'Scan the label' : 'Answer, then Enter'}
        aria-label={`${prompt.kind === 'scan' ? 'Scan for' : 'Answer for'} slot ${slot}`}
        autoComplete="off"
        spellCheck={false}
      />
      {problem && (
        <p role="alert" className="prompt-problem">
          {problem}
        </p>
      )}
    </div>
  );
}
