import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../support/free-port.ts';
import {
  ROOT,
  buildBaseImages,
  buildImage,
  podmanEnv,
  podmanMissing,
  run,
  scratchDir,
  sleep,
  until,
} from './support/podman.ts';

const missing = podmanMissing() ?? composeMissing();
const scratch = scratchDir('12f-compose-');
const podmanSettings = missing ? process.env : podmanEnv(scratch.dir);
const socket = join(scratch.dir, 'podman.sock');
const project = `12f-compose-${process.pid}`;
const services = ['postgres', 'web', 'worker', 'clock'];

/** Docker's `GET /_ping` on the API socket. */
function ping(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    request({ socketPath: path, path: '/_ping' }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    })
      .on('error', () => resolve(false))
      .end();
  });
}

function composeMissing(): string | undefined {
  try {
    execFileSync('docker-compose', ['version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'docker-compose is not installed (.ci/run installs it with apt-get)';
  }
}

if (missing) scratch.remove();
if (missing && process.env.CI) {
  test('compose stack — when CI runs without podman or Compose, then the suite fails', () => {
    throw new Error(`${missing}. CI must bring the stack up.`);
  });
} else if (missing) {
  console.warn(`# ${missing}: skipping the Compose stack suite`);
  test('compose stack — when podman or Compose is unavailable, then the suite is skipped', (t) =>
    t.skip(missing));
} else {
  describe('compose stack', { timeout: 60 * 60_000 }, () => {
    let service: ChildProcess | undefined;
    let ticking = true;
    let ticker: Promise<void> = Promise.resolve();
    // The unchanged compose.yaml in a directory of its own, with an empty `.env` as the README
    // says to create: the repository's own `.env`, if any, is never read or touched.
    const dir = join(scratch.dir, 'project');
    const env = () => ({
      ...podmanSettings,
      DOCKER_HOST: `unix://${socket}`,
      COMPOSE_PROJECT_NAME: project,
    });
    const compose = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
      run('docker-compose', args, {
        env: { ...env(), ...extra },
        cwd: dir,
        timeoutMs: 15 * 60_000,
      });
    const podman = (args: string[], allowFail = false) =>
      run('podman', args, { env: podmanSettings, allowFail });

    before(async () => {
      await buildBaseImages(podmanSettings);
      await buildImage(podmanSettings);
      mkdirSync(dir);
      copyFileSync(join(ROOT, 'compose.yaml'), join(dir, 'compose.yaml'));
      writeFileSync(join(dir, '.env'), '');
      // Docker's API, served by podman: what Compose talks to.
      service = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], {
        env: podmanSettings,
        stdio: 'ignore',
      });
      await until('podman system service', () => ping(socket));
      // podman runs healthchecks from systemd timers; where systemd is not PID 1 (CI
      // containers), this runs them on the compose file's own 2-5 s intervals instead.
      ticker = (async () => {
        while (ticking) {
          const { stdout } = await podman(
            [
              'ps',
              '--filter',
              `label=com.docker.compose.project=${project}`,
              '--format',
              '{{.Names}}',
            ],
            true,
          );
          for (const name of stdout.split('\n').filter(Boolean)) {
            await podman(['healthcheck', 'run', name], true);
          }
          await sleep(2000);
        }
      })();
    });

    after(async () => {
      await compose(['down', '-v', '-t', '35']).catch((error: Error) =>
        console.warn(error.message),
      );
      ticking = false;
      await ticker;
      service?.kill('SIGTERM');
      scratch.remove();
    });

    test('docker-compose up -d brings up the default profile unchanged: release succeeds once, and postgres, web, worker and clock all become healthy', async () => {
      const port = await freePort();
      await compose(['up', '-d'], { WEB_PORT: String(port) });
      const state = async (name: string, format: string) => {
        const { stdout } = await podman(
          [
            'ps',
            '-a',
            '--filter',
            `label=com.docker.compose.project=${project}`,
            '--filter',
            `label=com.docker.compose.service=${name}`,
            '--format',
            format,
          ],
          true,
        );
        return stdout.trim();
      };
      for (const name of services) {
        await until(
          `${name} healthy`,
          async () => {
            const id = await state(name, '{{.ID}}');
            if (!id) return false;
            const { stdout } = await podman(
              ['inspect', '--format', '{{.State.Health.Status}}', id],
              true,
            );
            return stdout.trim() === 'healthy';
          },
          5 * 60_000,
        );
      }
      assert.match(await state('release', '{{.Status}}'), /^Exited \(0\)/);
      const created = await fetch(`http://127.0.0.1:${port}/user?name=bingo`, { method: 'POST' });
      assert.equal(created.status, 201);
    });
  });
}
