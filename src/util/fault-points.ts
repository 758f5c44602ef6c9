/**
 * Named crash points for crash tests. With `SEXTANT_FAULT_POINT=<name>` (or `<name>:<n>`) in its
 * environment, a process kills itself with SIGKILL the n-th time (default: the first) it reaches
 * `faultPoint(name)`, exactly at that step, instead of a test guessing the moment with a timer.
 * Unset, as everywhere outside crash tests, a point costs one comparison. Not a setting.
 */
const spec = process.env.SEXTANT_FAULT_POINT ?? '';
const [armed, nth] = spec.split(':');
let remaining = nth === undefined ? 1 : Math.max(1, Number.parseInt(nth, 10) || 1);

export function faultPoint(name: string): void {
  if (name !== armed || --remaining > 0) return;
  process.kill(process.pid, 'SIGKILL');
}
