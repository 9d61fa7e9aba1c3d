import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

const LOGGER = new URL('../../src/log/logger.ts', import.meta.url).href;
/** ~35 MB of lines: more than the 16 MB the logger holds for a reader that does not read. */
const LINES = 150_000;

// Logs LINES lines to stdout a few thousand per turn, then reports on stderr how many the logger
// dropped, and exits once what it holds has been written.
const CHILD = `
import { createLogger, droppedLogLines } from ${JSON.stringify(LOGGER)};
const logger = createLogger({ level: 'info', pretty: false });
const filler = 'x'.repeat(160);
for (let n = 0; n < ${LINES}; n++) {
  logger.info({ n, filler }, 'line');
  if (n % 2000 === 1999) await new Promise((resolve) => setImmediate(resolve));
}
await new Promise((resolve) => setTimeout(resolve, 50));
process.stderr.write('dropped ' + droppedLogLines() + '\\n');
logger.flush(() => process.exit(0));
`;

test('logger — when stdout is not read, then lines past its buffer are dropped and counted: every line is written or counted, none lost unseen', async () => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 60_000,
  });
  let stderr = '';
  const dropped = await new Promise<number>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /dropped (\d+)\n/.exec(stderr);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', () => reject(new Error(`child exited first: ${stderr}`)));
  });
  // Only now is stdout read: the lines the logger held all arrive.
  let written = 0;
  let tail = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = tail + chunk.toString();
    const lines = text.split('\n');
    tail = lines.pop()!;
    written += lines.filter((line) => line.includes('"msg":"line"')).length;
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, stderr);
  assert.ok(dropped > 0, 'a reader that does not read makes the logger drop lines');
  assert.ok(written > 0, 'what the buffer held is written once the reader reads');
  assert.equal(written + dropped, LINES, 'each line was either written or counted as dropped');
});
