import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { execForm, instructionsOf, readDockerfile } from './support/dockerfile.ts';
import { appServices, loadCompose } from './support/compose.ts';
import { renderKustomization, type K8sObject } from './support/kubernetes.ts';
import { processType, workloadsOf } from './support/kubernetes-policy.ts';

/**
 * One process formation everywhere (factors V and VIII): the Procfile names each process type
 * and its one command; Compose, Kubernetes, the image's CMD and npm scripts run the same.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function readProcfile(): Map<string, string[]> {
  const types = new Map<string, string[]>();
  for (const [index, line] of readFileSync(`${ROOT}Procfile`, 'utf8').split('\n').entries()) {
    if (line.trim() === '') continue;
    const match = /^([a-z][a-z0-9_-]*):\s*(\S.*)$/.exec(line);
    assert.ok(match, `Procfile line ${index + 1} is "type: command"`);
    assert.ok(!types.has(match[1]!), `Procfile names ${match[1]} once`);
    types.set(match[1]!, match[2]!.trim().split(/\s+/));
  }
  return types;
}

const procfile = readProcfile();
const overlays = new Map<string, K8sObject[]>();
before(async () => {
  for (const overlay of readdirSync(`${ROOT}deploy/k8s/overlays`)) {
    overlays.set(overlay, await renderKustomization(`${ROOT}deploy/k8s/overlays/${overlay}`));
  }
});

test('procfile — when the Procfile is read, then web and release are single commands of the compiled build', () => {
  assert.deepEqual(procfile.get('web'), [
    'node',
    '--max-semi-space-size=8',
    'dist/processes/web.js',
  ]);
  assert.deepEqual(procfile.get('release'), ['node', 'dist/processes/admin.js', 'migrate']);
  for (const [type, command] of procfile) {
    const script = command.find((arg) => arg.endsWith('.js'))!;
    const entry = script.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts');
    assert.ok(existsSync(`${ROOT}${entry}`), `${type} runs ${script}, built from ${entry}`);
  }
});

test('procfile — when Compose starts the stack, then it runs exactly the Procfile types with the same commands', () => {
  const compose = loadCompose(`${ROOT}compose.yaml`);
  const seen = new Set<string>();
  for (const [name, service] of appServices(compose)) {
    const type = service.labels?.['12factor-app.process'] as string | undefined;
    assert.ok(type && procfile.has(type), `${name} is labelled with a Procfile type (${type})`);
    assert.deepEqual(service.command, procfile.get(type), `${name} runs the ${type} command`);
    seen.add(type);
  }
  assert.deepEqual([...seen].sort(), [...procfile.keys()].sort());
});

test('procfile — when an overlay is rendered, then its workloads are exactly the Procfile types with the same commands', () => {
  for (const [overlay, objects] of overlays) {
    const seen = new Set<string>();
    for (const workload of workloadsOf(objects)) {
      const type = processType(workload);
      assert.ok(type && procfile.has(type), `${overlay} ${workload.where} is a Procfile type`);
      const container = workload.pod.containers.find((c: { name: string }) => c.name === type);
      assert.ok(container, `${overlay} ${workload.where} has a container named ${type}`);
      assert.deepEqual(
        [...(container.command ?? []), ...(container.args ?? [])],
        procfile.get(type),
        `${overlay} ${workload.where} runs the ${type} command`,
      );
      const expectedKind = type === 'release' ? 'Job' : 'Deployment';
      assert.equal(
        workload.object.kind,
        expectedKind,
        `${overlay}: ${type} runs as a ${expectedKind}`,
      );
      seen.add(type);
    }
    assert.deepEqual([...seen].sort(), [...procfile.keys()].sort(), overlay);
  }
});

test('procfile — when the image starts with no command, then it runs web, and npm start and npm run migrate run the same commands', () => {
  const runtime = readDockerfile(`${ROOT}Dockerfile`).stages.at(-1)!;
  const cmd = instructionsOf(runtime, 'CMD').at(-1);
  assert.deepEqual(execForm(cmd!.args), procfile.get('web'));
  const { scripts } = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as {
    scripts: Record<string, string>;
  };
  // npm scripts preload the Node.js version check (a checkout may meet any Node.js; the image
  // has its own): otherwise the very same command.
  const withoutPreflight = (script: string | undefined) =>
    script?.replace(' --require ./src/processes/preflight.cjs', '');
  assert.equal(withoutPreflight(scripts.start), procfile.get('web')!.join(' '));
  assert.equal(withoutPreflight(scripts.migrate), procfile.get('release')!.join(' '));
});
