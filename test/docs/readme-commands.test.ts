import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  ANY_LOOPBACK_PORT,
  shellEnv,
  startWeb,
  type RunningProcess,
} from '../support/web-process.ts';

/**
 * The README's shell commands, run as written. Only two things change: `localhost:1337`
 * becomes the port a test server got (1337 may be taken on a shared machine), and the
 * placeholders a reader fills in (`<id>`, `<etag>`, a printed token) get real values.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The ```sh blocks under a heading, in order. */
function shBlocks(heading: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has "${heading}"`);
  const next = README.slice(start + heading.length + 2).search(/\n#{1,3} /);
  const section = README.slice(start, next < 0 ? undefined : start + heading.length + 2 + next);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) => match[1]!);
}

function sh(script: string, env: Record<string, string> = {}) {
  const run = spawnSync('sh', ['-c', script], {
    cwd: ROOT,
    env: shellEnv(env),
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(run.status, 0, `${script}\n${run.stderr}`);
  return run.stdout;
}

/** Reads a process's JSON log lines until one matches. */
function watchLines(stream: NodeJS.ReadableStream) {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  createInterface({ input: stream }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters) wake();
  });
  return {
    lines,
    until(test: (line: string) => boolean, timeoutMs = 20_000): Promise<string> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no such line in:\n${lines.join('\n')}`));
        }, timeoutMs);
        const check = () => {
          const found = lines.find(test);
          if (!found) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(found);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Load shedding off: a busy test machine must not turn a README call into a 503. */
const CALM = { MAX_EVENT_LOOP_DELAY_MS: '0' };

/** The port a web process listening on PORT=0 got, from its ready line. */
const readyPort = (line: string) =>
  (JSON.parse(line) as { address: { port: number } }).address.port;

const killPid = (pid: number, signal: NodeJS.Signals = 'SIGKILL') => {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
};

describe('README commands', () => {
  let web: RunningProcess & { port: number };
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), '12f-readme-'));
    // Load shedding has its own tests; on a busy machine it would answer these calls 503.
    web = await startWeb({ DATABASE_URL: `sqlite:${join(dir, 'app.db')}`, ...CALM });
  });
  after(() => {
    web?.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  const here = (command: string) => command.replaceAll('localhost:1337', `127.0.0.1:${web.port}`);

  it('the tutorial calls run verbatim and answer as shown', () => {
    const [block] = shBlocks('## The tutorial, verbatim');
    const lines = block!.split('\n');
    const calls = lines.flatMap((line, i) =>
      line.startsWith('$ curl ') ? [{ call: line.slice(2), shown: JSON.parse(lines[i + 1]!) }] : [],
    );
    assert.equal(calls.length, 4);
    const shownId = /user\/([0-9a-f]{24})/.exec(calls[2]!.call)![1]!;
    let id = '';
    // The same keys and names as shown; ids and times are this run's.
    const keys = (value: unknown) => Object.keys([value].flat()[0] as object);
    const lastName = (value: unknown) => ([value].flat().at(-1) as { name: string }).name;
    for (const { call, shown } of calls) {
      const answer = JSON.parse(sh(here(call).replaceAll(shownId, id || shownId)));
      if (!id) id = answer.id;
      assert.deepEqual(keys(answer), keys(shown), `${call}: ${JSON.stringify(answer)}`);
      assert.equal(lastName(answer), lastName(shown), call);
    }
    assert.equal(
      JSON.parse(
        sh(`curl -s 127.0.0.1:${web.port}/user/${id} -o /dev/null -w '{"s":%{http_code}}'`),
      ).s,
      404,
    );
  });

  it('the calls beyond the tutorial run as written, with the id and ETag filled in', () => {
    const [block] = shBlocks('## The tutorial, verbatim').slice(1);
    const [create, search, patch] = block!.split('\n').filter((line) => line.startsWith('curl'));
    const ada = JSON.parse(sh(here(create!)));
    assert.equal(ada.name, 'Ada');
    const listed = sh(here(search!));
    assert.match(listed, /^x-total-count: \d+/im);
    assert.match(listed, /"name":"Ada"/);
    const head = sh(`curl -sI 127.0.0.1:${web.port}/user/${ada.id}`);
    const etag = /^etag: "(.+)"/im.exec(head)![1]!;
    const patched = JSON.parse(sh(here(patch!).replace('<id>', ada.id).replace('<etag>', etag)));
    assert.equal(patched.email, 'ada@lovelace.dev');
  });

  it('the API_TOKENS example prints the tokens it starts with, and the writer token creates', async (t) => {
    const [start, call] = shBlocks('## Security');
    const shell = spawn('sh', ['-c', start!], {
      cwd: ROOT,
      env: shellEnv({
        ...ANY_LOOPBACK_PORT,
        DATABASE_URL: `sqlite:${join(dir, 'tokens.db')}`,
        ...CALM,
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = watchLines(shell.stdout!);
    t.after(() => {
      for (const line of out.lines) {
        if (line.startsWith('{')) killPid((JSON.parse(line) as { pid: number }).pid);
      }
      killPid(shell.pid!);
    });
    const writer = /^writer token: ([0-9a-f]{64})$/.exec(
      await out.until((l) => /^writer/.test(l)),
    )![1]!;
    const reader = /^reader token: ([0-9a-f]{64})$/.exec(
      await out.until((l) => /^reader/.test(l)),
    )![1]!;
    const port = readyPort(await out.until((line) => line.includes('"web ready"')));
    const asWriter = call!.trim().replace('<the writer token>', writer);
    const created = JSON.parse(sh(asWriter.replace('localhost:1337', `127.0.0.1:${port}`)));
    assert.equal(created.name, 'bingo');
    const asReader = asWriter
      .replace(writer, reader)
      .replace('curl ', `curl -s -o /dev/null -w '%{http_code}' `);
    assert.equal(sh(asReader.replace('localhost:1337', `127.0.0.1:${port}`)), '403');
    const anonymous = asWriter
      .replace(/ -H .*$/, '')
      .replace('curl ', `curl -s -o /dev/null -w '%{http_code}' `);
    assert.equal(sh(anonymous.replace('localhost:1337', `127.0.0.1:${port}`)), '401');
  });

  it('the rolling restart signals the supervisor, which replaces every child and keeps serving', async (t) => {
    const block = shBlocks('## Process formation').find((b) => b.includes('kill -HUP'))!;
    const [startLine, restartLine] = block.split('\n').filter(Boolean);
    // One shell, fed a line at a time as a person types them: `$!` carries from one to the next.
    const shell = spawn('sh', ['-s'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        // The children share the supervisor's one port, chosen by the system (node:cluster).
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${join(dir, 'rolling.db')}`,
        SHUTDOWN_DELAY_MS: '0',
        ...CALM,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out = watchLines(shell.stdout!);
    t.after(() => {
      for (const line of out.lines) {
        if (line.startsWith('{')) killPid((JSON.parse(line) as { pid: number }).pid);
      }
      killPid(shell.pid!);
    });
    shell.stdin!.write(`${startLine}\n`);
    const supervisor = JSON.parse(await out.until((l) => l.includes('supervising web processes')))
      .pid as number;
    const readyCount = () => out.lines.filter((l) => l.includes('"web ready"')).length;
    await out.until(() => readyCount() >= 2);
    const port = readyPort(out.lines.find((l) => l.includes('"web ready"'))!);
    shell.stdin!.write(`${restartLine}\n`);
    await out.until((l) => l.includes('rolling restart finished'), 60_000);
    assert.ok(readyCount() >= 4, 'two fresh children became ready');
    const ports = out.lines.filter((l) => l.includes('"web ready"')).map(readyPort);
    assert.deepEqual(new Set(ports), new Set([port]), 'the fresh children took the same port');
    assert.equal(
      JSON.parse(await out.until((l) => l.includes('rolling restart started'))).pid,
      supervisor,
    );
    const answer = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(answer.status, 200);
    shell.stdin!.end();
    killPid(supervisor, 'SIGTERM');
    await out.until((l) => l.includes('supervisor stopped'));
  });
});
