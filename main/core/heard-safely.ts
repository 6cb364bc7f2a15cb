/**
 * A listener as the station calls it from inside its work (a step, a
 * transfer, a timer, a replayed call, a probe): a listener that throws (a
 * screen's bug, a read of its own that fails) is not taken for that work
 * failing. Its failure is its own; what the station recorded stands.
 */
export function heardSafely<T>(listener: (value: T) => void): (value: T) => void {
  return (value) => {
    try {
      listener(value);
    } catch {
      // Nothing to undo: the listener only hears of what already happened.
    }
  };
}
