import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

/** A rendered Kubernetes object, loosely typed: the schemas below are what types it. */
export type K8sObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
};

/**
 * The Kubernetes API the manifests are validated against: kubernetes-models 5.1, generated from
 * the Kubernetes 1.34 OpenAPI (it has 1.34's fields, e.g. EnvVarSource.fileKeyRef and
 * Container.restartPolicyRules, and none of 1.35's).
 */
export const KUBERNETES_SCHEMA_VERSION = '1.34';

const run = promisify(execFile);

/** `kubectl kustomize <dir>`, parsed into objects. kubectl is the only non-npm tool needed. */
export async function renderKustomization(dir: string): Promise<K8sObject[]> {
  let stdout: string;
  try {
    ({ stdout } = await run('kubectl', ['kustomize', dir], { timeout: 60_000 }));
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOENT') {
      throw new Error(
        'kubectl is not installed: the deploy tests render deploy/k8s with `kubectl kustomize` ' +
          '(kubectl ≥ 1.27, kustomize v5). Install kubectl and run again.',
        { cause: error },
      );
    }
    throw new Error(`kubectl kustomize ${dir} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

/** `apps/v1` + `Deployment` → kubernetes-models' schema module `IoK8sApiAppsV1Deployment`. */
function schemaModule(apiVersion: string, kind: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['core', apiVersion];
  const groupName = group!.split('.')[0]!;
  const pascal = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);
  return `IoK8sApi${pascal(groupName)}${pascal(version!)}${kind}`;
}

type ValidateFunction = ((data: unknown) => boolean) & {
  errors?: { instancePath: string; message?: string }[] | null;
};

/**
 * Every problem with one object: JSON-schema errors from the Kubernetes OpenAPI, and unknown
 * fields. The OpenAPI schemas do not forbid unknown properties (the API server prunes them, or
 * rejects them only under `kubectl apply --validate=strict`), so the second check is ours: the
 * validator reads every property its schema declares, and enumerates the keys of maps (labels,
 * data, limits), so a key it never touched on an object it did not enumerate is unknown — a typo
 * the cluster would silently drop. Limitation: fields under x-kubernetes-preserve-unknown-fields
 * (none in our manifests) would be reported too.
 */
export async function validateObject(object: K8sObject): Promise<string[]> {
  const where = `${object.kind}/${object.metadata?.name}`;
  const name = schemaModule(object.apiVersion, object.kind);
  let validate: ValidateFunction;
  try {
    ({ validate } = (await import(`kubernetes-models/_schemas/${name}`)) as {
      validate: ValidateFunction;
    });
  } catch {
    return [
      `${where}: no Kubernetes ${KUBERNETES_SCHEMA_VERSION} schema for ${object.apiVersion} ${object.kind}`,
    ];
  }
  const visited: Visited[] = [];
  const valid = validate(trace(object, '', visited));
  const problems = valid
    ? []
    : (validate.errors ?? []).map(
        (error) => `${where}: ${error.instancePath || '/'} ${error.message}`,
      );
  for (const node of visited) {
    if (node.isArray || node.enumerated) continue;
    for (const key of node.keys.filter((key) => !node.read.has(key))) {
      problems.push(`${where}: ${node.path}/${key} is not a field of the Kubernetes API`);
    }
  }
  return problems;
}

interface Visited {
  path: string;
  keys: string[];
  read: Set<string>;
  enumerated: boolean;
  isArray: boolean;
}

function trace(value: unknown, path: string, visited: Visited[]): unknown {
  if (value === null || typeof value !== 'object') return value;
  const node: Visited = {
    path,
    keys: Object.keys(value),
    read: new Set(),
    enumerated: false,
    isArray: Array.isArray(value),
  };
  visited.push(node);
  const children = new Map<string, unknown>();
  return new Proxy(value, {
    get(target, key, receiver) {
      const child: unknown = Reflect.get(target, key, receiver);
      if (typeof key !== 'string' || !Object.hasOwn(target, key)) return child;
      node.read.add(key);
      if (!children.has(key)) children.set(key, trace(child, `${path}/${key}`, visited));
      return children.get(key);
    },
    ownKeys(target) {
      node.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}
