// Output helpers for the CLI: writes that respect backpressure and ignore a closed pipe
// (e.g. `wirecheck ... | head`).

let stdoutClosed = false;
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') stdoutClosed = true;
  else throw e;
});

export function writeOut(s: string): Promise<void> {
  if (stdoutClosed) return Promise.resolve();
  return new Promise((resolve) => {
    if (process.stdout.write(s)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

/** One line on stderr, `wirecheck: <message>`, and the exit code. */
export function fail(message: string, code: number): void {
  process.stderr.write(`wirecheck: ${message}\n`);
  process.exitCode = code;
}
