// What a CLI command writes to stdout while `run` runs (stderr silenced), for tests of src/cli commands.
import { vi } from 'vitest';

export async function captureStdout(run: () => Promise<unknown>): Promise<string> {
  let out = '';
  const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await run();
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out;
}
