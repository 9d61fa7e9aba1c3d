import { VARIABLES } from '../../../src/config/variables.ts';
import type { K8sObject } from './kubernetes.ts';

/**
 * The deployment rules for every rendered overlay, as functions that list violations, so a
 * test can show each rule failing on a bad manifest as well as passing on ours.
 */

/* eslint-disable @typescript-eslint/no-explicit-any -- rendered YAML, checked field by field */
type Any = any;

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
const LONG_RUNNING_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

export interface Workload {
  object: K8sObject;
  where: string;
  /** The pod spec of the workload's template. */
  pod: Any;
  podLabels: Record<string, string>;
  containers: Any[];
  longRunning: boolean;
}

export function workloadsOf(objects: K8sObject[]): Workload[] {
  return objects
    .filter((object) => WORKLOAD_KINDS.has(object.kind))
    .map((object) => {
      const template = (object.spec as Any)?.template ?? {};
      const pod = template.spec ?? {};
      return {
        object,
        where: `${object.kind}/${object.metadata.name}`,
        pod,
        podLabels: template.metadata?.labels ?? {},
        containers: [...(pod.initContainers ?? []), ...(pod.containers ?? [])],
        longRunning: LONG_RUNNING_KINDS.has(object.kind),
      };
    });
}

const selects = (selector: Record<string, string> | undefined, labels: Record<string, string>) =>
  selector !== undefined &&
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** runAsNonRoot, seccomp RuntimeDefault, read-only root, no privilege gain, no capabilities. */
export function checkSecurity(workload: Workload): string[] {
  const { pod, where } = workload;
  const problems: string[] = [];
  const podContext = pod.securityContext ?? {};
  if (podContext.runAsNonRoot !== true) problems.push(`${where}: runAsNonRoot is not true`);
  if (podContext.runAsUser === 0) problems.push(`${where}: runAsUser is 0`);
  if (pod.automountServiceAccountToken !== false) {
    problems.push(`${where}: mounts a service account token it does not use`);
  }
  for (const container of workload.containers) {
    const at = `${where} container ${container.name}`;
    const context = container.securityContext ?? {};
    const seccomp = context.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== 'RuntimeDefault') problems.push(`${at}: seccomp is not RuntimeDefault`);
    if (context.readOnlyRootFilesystem !== true) problems.push(`${at}: root filesystem writable`);
    if (context.allowPrivilegeEscalation !== false) {
      problems.push(`${at}: allowPrivilegeEscalation is not false`);
    }
    if (context.privileged === true) problems.push(`${at}: privileged`);
    if (!(context.capabilities?.drop ?? []).includes('ALL')) {
      problems.push(`${at}: capabilities not dropped (drop: [ALL])`);
    }
    if ((context.capabilities?.add ?? []).length > 0) problems.push(`${at}: adds capabilities`);
    if (context.runAsUser === 0) problems.push(`${at}: runAsUser is 0`);
  }
  return problems;
}

/** Requests and limits for CPU and memory on every container; a pinned image tag. */
export function checkResources(workload: Workload): string[] {
  const problems: string[] = [];
  for (const container of workload.containers) {
    const at = `${workload.where} container ${container.name}`;
    for (const kind of ['requests', 'limits']) {
      for (const resource of ['cpu', 'memory']) {
        if (container.resources?.[kind]?.[resource] === undefined) {
          problems.push(`${at}: no ${resource} ${kind}`);
        }
      }
    }
    const tag = imageTag(container.image);
    if (tag === undefined || tag === 'latest') problems.push(`${at}: image not pinned to a tag`);
  }
  return problems;
}

/** A long-running process has startup, readiness (/readyz) and liveness (/healthz) probes. */
export function checkProbes(workload: Workload): string[] {
  if (!workload.longRunning) return [];
  const problems: string[] = [];
  for (const container of workload.pod.containers ?? []) {
    const at = `${workload.where} container ${container.name}`;
    const ports = new Set<string | number>(
      (container.ports ?? []).flatMap((port: Any) => [port.name, port.containerPort]),
    );
    const expected = {
      startupProbe: '/healthz',
      readinessProbe: '/readyz',
      livenessProbe: '/healthz',
    };
    for (const [probe, path] of Object.entries(expected)) {
      const get = container[probe]?.httpGet;
      if (!get) problems.push(`${at}: no ${probe}`);
      else {
        if (get.path !== path) problems.push(`${at}: ${probe} asks ${get.path}, not ${path}`);
        if (!ports.has(get.port)) problems.push(`${at}: ${probe} port ${get.port} is not declared`);
      }
    }
  }
  return problems;
}

/**
 * The kubelet waits terminationGracePeriodSeconds from the start of preStop, then SIGKILLs. The
 * app, after SIGTERM, keeps serving SHUTDOWN_DELAY_MS and then drains within the
 * SHUTDOWN_TIMEOUT_MS budget (src/processes/shutdown.ts), so the grace period must cover
 * preStop + delay + budget, counting the budget in full as if it started after the delay.
 */
export function checkGracePeriod(workload: Workload, objects: K8sObject[]): string[] {
  if (!workload.longRunning) return [];
  const problems: string[] = [];
  const grace = workload.pod.terminationGracePeriodSeconds ?? 30;
  for (const container of workload.pod.containers ?? []) {
    const env = effectiveEnv(container, objects);
    const preStop = preStopSeconds(container);
    const delay = Number(env.SHUTDOWN_DELAY_MS) / 1000;
    const budget = Number(env.SHUTDOWN_TIMEOUT_MS) / 1000;
    if (!(grace >= preStop + delay + budget)) {
      problems.push(
        `${workload.where} container ${container.name}: terminationGracePeriodSeconds ${grace} < ` +
          `preStop ${preStop} s + SHUTDOWN_DELAY_MS ${delay} s + SHUTDOWN_TIMEOUT_MS ${budget} s`,
      );
    }
    if (preStop === 0)
      problems.push(`${workload.where} container ${container.name}: no preStop delay`);
  }
  return problems;
}

/** Web has a PodDisruptionBudget, an autoscaler that owns its replica count, and a Service. */
export function checkWebAvailability(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const webs = workloadsOf(objects).filter(
    (workload) => workload.object.kind === 'Deployment' && processType(workload) === 'web',
  );
  if (webs.length !== 1) problems.push(`expected one web Deployment, found ${webs.length}`);
  for (const web of webs) {
    const pdb = objects.find(
      (object) =>
        object.kind === 'PodDisruptionBudget' &&
        selects((object.spec as Any)?.selector?.matchLabels, web.podLabels),
    );
    if (!pdb) problems.push(`${web.where}: no PodDisruptionBudget selects its pods`);
    const hpa = objects.find(
      (object) =>
        object.kind === 'HorizontalPodAutoscaler' &&
        (object.spec as Any)?.scaleTargetRef?.kind === 'Deployment' &&
        (object.spec as Any)?.scaleTargetRef?.name === web.object.metadata.name,
    );
    if (!hpa) problems.push(`${web.where}: no HorizontalPodAutoscaler scales it`);
    else if ((web.object.spec as Any).replicas !== undefined) {
      problems.push(`${web.where}: sets replicas, which every apply would reset under the HPA`);
    }
    const service = objects.find(
      (object) =>
        object.kind === 'Service' && selects((object.spec as Any)?.selector, web.podLabels),
    );
    const ports = new Set(
      web.pod.containers.flatMap((c: Any) => (c.ports ?? []).map((p: Any) => p.name)),
    );
    if (!service) problems.push(`${web.where}: no Service selects its pods`);
    else {
      for (const port of (service.spec as Any).ports ?? []) {
        if (!ports.has(port.targetPort)) {
          problems.push(`Service/${service.metadata.name}: targetPort ${port.targetPort} unknown`);
        }
      }
    }
    const rolling = (web.object.spec as Any).strategy?.rollingUpdate;
    if (rolling?.maxUnavailable !== 0) {
      problems.push(`${web.where}: maxUnavailable must be 0 so old pods serve until new are Ready`);
    }
  }
  return problems;
}

/** The release Job: once per image (its name ends in the tag), never restarted in place. */
export function checkReleaseJob(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const jobs = workloadsOf(objects).filter((workload) => workload.object.kind === 'Job');
  const releases = jobs.filter((job) => processType(job) === 'release');
  if (releases.length !== 1) problems.push(`expected one release Job, found ${releases.length}`);
  for (const job of releases) {
    const image = job.pod.containers?.[0]?.image as string;
    const name = job.object.metadata.name;
    if (!name.endsWith(`.${imageTag(image)}`)) {
      problems.push(`${job.where}: name does not end in the image tag (${image})`);
    }
    if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 63) {
      problems.push(`${job.where}: not a valid Job name (DNS subdomain, at most 63 characters)`);
    }
    if (job.pod.restartPolicy !== 'Never') problems.push(`${job.where}: restartPolicy not Never`);
    if ((job.object.spec as Any).backoffLimit === undefined)
      problems.push(`${job.where}: no backoffLimit`);
    const webImage = workloadsOf(objects).find((w) => processType(w) === 'web')?.pod.containers[0]
      ?.image;
    if (webImage !== image) problems.push(`${job.where}: image ${image} is not web's ${webImage}`);
  }
  return problems;
}

/** Config in ConfigMaps that exist; Secrets only referenced, never rendered with values. */
export function checkConfigAndSecrets(objects: K8sObject[]): {
  problems: string[];
  secrets: string[];
} {
  const problems: string[] = [];
  const secrets = new Set<string>();
  const rendered = (kind: string, name: string) =>
    objects.some((object) => object.kind === kind && object.metadata.name === name);
  for (const object of objects.filter((o) => o.kind === 'Secret')) {
    problems.push(`Secret/${object.metadata.name} is rendered: secrets must not live in the repo`);
  }
  for (const workload of workloadsOf(objects)) {
    for (const container of workload.containers) {
      const refs = [
        ...(container.envFrom ?? []),
        ...(container.env ?? []).map((e: Any) => e.valueFrom ?? {}),
      ];
      for (const ref of refs) {
        const configMap = ref.configMapRef?.name ?? ref.configMapKeyRef?.name;
        const secret = ref.secretRef?.name ?? ref.secretKeyRef?.name;
        if (configMap && !rendered('ConfigMap', configMap)) {
          problems.push(`${workload.where}: ConfigMap ${configMap} is not part of the release`);
        }
        if (secret) secrets.add(secret);
      }
      for (const env of container.env ?? []) {
        if (/URL|PASSWORD|SECRET|TOKEN/.test(env.name) && env.value !== undefined) {
          problems.push(`${workload.where}: ${env.name} has a literal value; use a Secret`);
        }
      }
    }
  }
  for (const configMap of objects.filter((o) => o.kind === 'ConfigMap')) {
    for (const key of Object.keys((configMap.data as Record<string, string>) ?? {})) {
      if (/URL|PASSWORD|SECRET|TOKEN/.test(key)) {
        problems.push(`ConfigMap/${configMap.metadata.name}: ${key} belongs in a Secret`);
      }
    }
  }
  return { problems, secrets: [...secrets] };
}

/** The process type a workload runs, from its `app.kubernetes.io/component` label. */
export function processType(workload: Workload): string | undefined {
  return workload.podLabels['app.kubernetes.io/component'];
}

export function imageTag(image: string | undefined): string | undefined {
  const match = /:([\w][\w.-]{0,127})$/.exec(image ?? '');
  return match?.[1];
}

function preStopSeconds(container: Any): number {
  const preStop = container.lifecycle?.preStop;
  if (preStop?.sleep) return Number(preStop.sleep.seconds);
  const command: string[] = preStop?.exec?.command ?? [];
  const sleep = command.join(' ').match(/\bsleep\s+(\d+)/);
  return sleep ? Number(sleep[1]) : 0;
}

/** The environment a container gets: app defaults, then envFrom ConfigMaps, then env. */
function effectiveEnv(container: Any, objects: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of VARIABLES)
    if (variable.default !== undefined) env[variable.name] = variable.default;
  for (const from of container.envFrom ?? []) {
    const configMap = objects.find(
      (object) => object.kind === 'ConfigMap' && object.metadata.name === from.configMapRef?.name,
    );
    Object.assign(env, (configMap?.data as Record<string, string>) ?? {});
  }
  for (const entry of container.env ?? [])
    if (entry.value !== undefined) env[entry.name] = entry.value;
  return env;
}
