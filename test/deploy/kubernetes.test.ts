import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import {
  KUBERNETES_SCHEMA_VERSION,
  renderKustomization,
  validateObject,
  type K8sObject,
} from './support/kubernetes.ts';
import {
  checkConfigAndSecrets,
  checkGracePeriod,
  checkProbes,
  checkReleaseJob,
  checkResources,
  checkSecurity,
  checkWebAvailability,
  workloadsOf,
} from './support/kubernetes-policy.ts';

const K8S = fileURLToPath(new URL('../../deploy/k8s/', import.meta.url));
const OVERLAYS = readdirSync(join(K8S, 'overlays'));

/** Every deployment policy (kubernetes-policy.ts) on one rendered overlay. */
function violations(objects: K8sObject[]): string[] {
  return [
    ...workloadsOf(objects).flatMap((workload) => [
      ...checkSecurity(workload),
      ...checkResources(workload),
      ...checkProbes(workload),
      ...checkGracePeriod(workload, objects),
    ]),
    ...checkWebAvailability(objects),
    ...checkReleaseJob(objects),
    ...checkConfigAndSecrets(objects).problems,
  ];
}

const rendered = new Map<string, K8sObject[]>();
before(async () => {
  for (const overlay of OVERLAYS) {
    rendered.set(overlay, await renderKustomization(join(K8S, 'overlays', overlay)));
  }
});

test('kubernetes — when the overlays are listed, then dev and prod are there', () => {
  assert.deepEqual(OVERLAYS.sort(), ['dev', 'prod']);
});

for (const overlay of OVERLAYS) {
  describe(`kubernetes ${overlay}`, () => {
    const objects = () => rendered.get(overlay)!;

    test(`kubernetes — when ${overlay} is rendered, then every object is valid Kubernetes ${KUBERNETES_SCHEMA_VERSION} with no unknown field`, async () => {
      const problems = (await Promise.all(objects().map(validateObject))).flat();
      assert.deepEqual(problems, []);
      const kinds = new Set(objects().map((object) => object.kind));
      for (const kind of ['Deployment', 'Job', 'Service', 'ConfigMap', 'PodDisruptionBudget']) {
        assert.ok(kinds.has(kind), `${overlay} renders a ${kind}`);
      }
      assert.ok(kinds.has('HorizontalPodAutoscaler'));
    });

    test(`kubernetes — when ${overlay} is rendered, then every policy holds (security, resources, probes, grace, PDB, HPA, release Job, secrets)`, () => {
      assert.deepEqual(violations(objects()), []);
    });

    test(`kubernetes — when ${overlay} is rendered, then every object is in the overlay's namespace`, () => {
      const namespace = objects().find((object) => object.kind === 'Namespace')?.metadata.name;
      assert.ok(namespace, 'the overlay creates its namespace');
      for (const object of objects().filter((o) => o.kind !== 'Namespace')) {
        assert.equal(
          object.metadata.namespace,
          namespace,
          `${object.kind}/${object.metadata.name}`,
        );
      }
    });
  });
}

describe('kubernetes checks on bad manifests', () => {
  const prod = () => structuredClone(rendered.get('prod')!);
  const web = (objects: K8sObject[]) => objects.find((o) => o.kind === 'Deployment')! as any; // eslint-disable-line @typescript-eslint/no-explicit-any

  test('kubernetes — when a field is misspelled, then validation names it', async () => {
    const objects = prod();
    const deployment = web(objects);
    deployment.spec.template.spec.containers[0].readinessprobe = { httpGet: { path: '/readyz' } };
    deployment.spec.strategy.rollingupdate = {};
    const problems = await validateObject(deployment);
    assert.ok(problems.some((p) => p.includes('/spec/template/spec/containers/0/readinessprobe')));
    assert.ok(problems.some((p) => p.includes('/spec/strategy/rollingupdate')));
  });

  test('kubernetes — when a value has the wrong type, then validation rejects it', async () => {
    const deployment = web(prod());
    deployment.spec.template.spec.containers[0].resources.limits.memory = 'lots';
    assert.notDeepEqual(await validateObject(deployment), []);
  });

  test('kubernetes — when the grace period is shorter than preStop + delay + drain budget, then the policy fails', () => {
    const objects = prod();
    web(objects).spec.template.spec.terminationGracePeriodSeconds = 30;
    assert.match(violations(objects).join('\n'), /terminationGracePeriodSeconds 30 < preStop 5 s/);
  });

  test('kubernetes — when the drain budget grows in the ConfigMap, then the same grace period fails', () => {
    const objects = prod();
    const config = objects.find((o) => o.kind === 'ConfigMap')! as K8sObject & {
      data: Record<string, string>;
    };
    config.data.SHUTDOWN_TIMEOUT_MS = '60000';
    assert.match(violations(objects).join('\n'), /SHUTDOWN_TIMEOUT_MS 60 s/);
  });

  test('kubernetes — when a container may run as root, write its root filesystem or keep capabilities, then the policy fails', () => {
    const objects = prod();
    const pod = web(objects).spec.template.spec;
    delete pod.securityContext.runAsNonRoot;
    delete pod.securityContext.seccompProfile;
    pod.containers[0].securityContext = {};
    const text = violations(objects).join('\n');
    for (const rule of ['runAsNonRoot', 'root filesystem writable', 'capabilities', 'seccomp']) {
      assert.match(text, new RegExp(rule));
    }
  });

  test('kubernetes — when probes, limits or the PDB are missing, then the policy fails', () => {
    const objects = prod().filter((o) => o.kind !== 'PodDisruptionBudget');
    const container = web(objects).spec.template.spec.containers[0];
    delete container.readinessProbe;
    delete container.resources.limits;
    const text = violations(objects).join('\n');
    assert.match(text, /no readinessProbe/);
    assert.match(text, /no memory limits/);
    assert.match(text, /no PodDisruptionBudget/);
  });

  test('kubernetes — when a Secret with values is rendered, then the policy fails', () => {
    const objects = prod();
    objects.push({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'leaked' },
      stringData: { DATABASE_URL: 'postgres://u:p@h/db' },
    });
    assert.match(violations(objects).join('\n'), /Secret\/leaked is rendered/);
  });
});

describe('kubernetes release', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), '12f-k8s-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('kubernetes — when an overlay deploys another tag from a registry with a port, then the release Job gets a new name carrying that tag', async () => {
    const prod = parse(readFileSync(join(K8S, 'overlays/prod/kustomization.yaml'), 'utf8'));
    // kustomize refuses absolute paths; a relative one may leave the root.
    prod.resources = [relative(scratch, join(K8S, 'base'))];
    prod.images = [
      { name: '12factor-app', newName: 'localhost:5001/12factor-app', newTag: 'v2.3.4' },
    ];
    prod.replacements[0].source.options.index = 2;
    prod.patches = [];
    writeFileSync(join(scratch, 'kustomization.yaml'), JSON.stringify(prod));
    const objects = await renderKustomization(scratch);
    const job = objects.find((o) => o.kind === 'Job')!;
    assert.equal(job.metadata.name, '12factor-app-release.v2.3.4');
    assert.deepEqual(checkReleaseJob(objects), []);
    const before = rendered.get('prod')!.find((o) => o.kind === 'Job')!;
    assert.notEqual(before.metadata.name, job.metadata.name);
  });

  test('kubernetes — when the Secret is referenced, then only its example is committed, outside every kustomization', () => {
    const secrets = new Set(
      [...rendered.values()].flatMap((objects) => checkConfigAndSecrets(objects).secrets),
    );
    const example = parse(readFileSync(join(K8S, 'base/secret.example.yaml'), 'utf8'));
    assert.deepEqual([...secrets], [example.metadata.name]);
    for (const value of Object.values(example.stringData as Record<string, string>)) {
      assert.match(value, /CHANGE-ME|example/, 'the example holds placeholders only');
    }
    for (const dir of ['base', 'overlays/dev', 'overlays/prod']) {
      const text = readFileSync(join(K8S, dir, 'kustomization.yaml'), 'utf8');
      assert.doesNotMatch(text, /secret\.example|secretGenerator/);
    }
  });
});
