import { basename, resolve } from 'node:path';
import { createSystemProbe } from './probe-system.ts';
import type {
  HostProbe,
  Identity,
  NodeInfo,
  NodeKind,
  OpenResult,
  RunResult,
  Uname,
} from './probe.ts';

/** The metadata file at a fixture's root; see test/doctor/fixtures/README.md for its schema. */
export const FIXTURE_METADATA = 'host.json';

const MAX_EXTENDS_DEPTH = 8;
const NODE_KINDS: readonly NodeKind[] = [
  'file',
  'dir',
  'char',
  'block',
  'socket',
  'fifo',
  'symlink',
];

interface Metadata {
  uname: Partial<Uname>;
  identity: Partial<Identity>;
  /** `null` drops a node a base fixture declares, so the tree decides again. */
  nodes: Record<string, NodeInfo | null>;
  open: Record<string, string>;
  executables: string[] | undefined;
  run: Record<string, RunResult>;
  hide: string[];
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asString = (value: unknown) => (typeof value === 'string' ? value : undefined);
const asInt = (value: unknown) => (Number.isInteger(value) ? (value as number) : undefined);
const asStrings = (value: unknown) =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : undefined;

function parseMode(value: unknown): number | undefined {
  if (typeof value === 'string' && /^0?[0-7]{3,4}$/.test(value)) return Number.parseInt(value, 8);
  return asInt(value);
}

function parseNode(value: unknown): NodeInfo | null | undefined {
  if (value === null) return null;
  if (!isObject(value)) return undefined;
  const kind = NODE_KINDS.find((k) => k === value.type) ?? 'file';
  const node: NodeInfo = {
    kind,
    mode: parseMode(value.mode) ?? 0o600,
    uid: asInt(value.uid) ?? 0,
    gid: asInt(value.gid) ?? 0,
  };
  const major = asInt(value.major);
  const minor = asInt(value.minor);
  return major !== undefined && minor !== undefined ? { ...node, major, minor } : node;
}

/** Every field is optional and checked; a wrongly typed field counts as absent. */
function parseMetadata(raw: unknown): Metadata {
  const json = isObject(raw) ? raw : {};
  const uname = isObject(json.uname) ? json.uname : {};
  const identity = isObject(json.identity) ? json.identity : {};
  const nodes: Metadata['nodes'] = {};
  for (const [path, value] of Object.entries(isObject(json.nodes) ? json.nodes : {})) {
    const node = parseNode(value);
    if (node !== undefined) nodes[path] = node;
  }
  const open: Metadata['open'] = {};
  for (const [path, value] of Object.entries(isObject(json.open) ? json.open : {})) {
    if (typeof value === 'string') open[path] = value;
  }
  const run: Metadata['run'] = {};
  for (const [name, value] of Object.entries(isObject(json.run) ? json.run : {})) {
    if (!isObject(value)) continue;
    run[name] = {
      status: value.status === null ? null : (asInt(value.status) ?? 0),
      stdout: asString(value.stdout) ?? '',
      stderr: asString(value.stderr) ?? '',
      timedOut: value.timedOut === true,
    };
  }
  const groups = Array.isArray(identity.groups) ? identity.groups.filter(Number.isInteger) : [];
  return {
    uname: {
      ...(asString(uname.sysname) !== undefined ? { sysname: asString(uname.sysname) } : {}),
      ...(asString(uname.machine) !== undefined ? { machine: asString(uname.machine) } : {}),
      ...(asString(uname.release) !== undefined ? { release: asString(uname.release) } : {}),
    },
    identity: {
      ...(asInt(identity.uid) !== undefined ? { uid: asInt(identity.uid) } : {}),
      ...(asInt(identity.gid) !== undefined ? { gid: asInt(identity.gid) } : {}),
      ...(Array.isArray(identity.groups) ? { groups: groups as number[] } : {}),
      // `"user": null` drops a base fixture's name: a uid without a passwd entry.
      ...(asString(identity.user) !== undefined
        ? { user: asString(identity.user) }
        : identity.user === null
          ? { user: undefined }
          : {}),
    },
    nodes,
    open,
    executables: asStrings(json.executables),
    run,
    hide: asStrings(json.hide) ?? [],
  };
}

function merge(base: Metadata, over: Metadata): Metadata {
  return {
    uname: { ...base.uname, ...over.uname },
    identity: { ...base.identity, ...over.identity },
    nodes: { ...base.nodes, ...over.nodes },
    open: { ...base.open, ...over.open },
    executables: over.executables ?? base.executables,
    run: { ...base.run, ...over.run },
    hide: [...base.hide, ...over.hide],
  };
}

/** A fixture may extend another (`"extends": "../base"`): its files and metadata underlie it. */
function loadChain(root: string, text: string): { roots: string[]; metadata: Metadata } {
  const roots = [root];
  const layers: Metadata[] = [];
  let current: { root: string; text: string | undefined } = { root, text };
  for (let depth = 0; current.text !== undefined && depth < MAX_EXTENDS_DEPTH; depth++) {
    let raw: unknown;
    try {
      raw = JSON.parse(current.text);
    } catch {
      raw = {};
    }
    layers.unshift(parseMetadata(raw));
    const parent = isObject(raw) ? asString(raw.extends) : undefined;
    if (parent === undefined) break;
    const parentRoot = resolve(current.root, parent);
    roots.push(parentRoot);
    current = {
      root: parentRoot,
      text: createSystemProbe({ root: parentRoot, env: {} }).readFile(`/${FIXTURE_METADATA}`),
    };
  }
  const empty = parseMetadata({});
  return { roots, metadata: layers.reduce(merge, empty) };
}

/** Whether `identity` may open `node` read-write, by the classic owner/group/other bits. */
function permits(node: NodeInfo, identity: Identity): boolean {
  if (identity.uid === 0) return true;
  const bits =
    identity.uid === node.uid
      ? node.mode >> 6
      : identity.gid === node.gid || identity.groups.includes(node.gid)
        ? node.mode >> 3
        : node.mode;
  return (bits & 0o6) === 0o6;
}

export function createFixtureProbe(options: { root: string; metadata: string }): HostProbe {
  const { roots, metadata } = loadChain(options.root, options.metadata);
  const layers = roots.map((root) => createSystemProbe({ root, env: {} }));
  const hidden = (path: string) =>
    path === `/${FIXTURE_METADATA}` ||
    metadata.hide.some((h) => path === h || path.startsWith(`${h}/`));
  const firstOf = <T>(read: (layer: HostProbe) => T | undefined) => {
    for (const layer of layers) {
      const value = read(layer);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const identity = (): Identity => ({
    uid: metadata.identity.uid ?? 0,
    gid: metadata.identity.gid ?? 0,
    groups: metadata.identity.groups ?? [metadata.identity.gid ?? 0],
    ...(metadata.identity.user !== undefined ? { user: metadata.identity.user } : {}),
  });
  const stat = (path: string): NodeInfo | undefined => {
    if (hidden(path)) return undefined;
    const declared = metadata.nodes[path];
    if (declared) return declared;
    // Git keeps neither owners nor modes: a plain fixture file is root's, 0644.
    const found = firstOf((layer) => layer.stat(path));
    if (found === undefined) return undefined;
    return { kind: found.kind, mode: found.kind === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0 };
  };
  return {
    root: options.root,
    readFile: (path) => (hidden(path) ? undefined : firstOf((layer) => layer.readFile(path))),
    readBytes: (path, max) => (hidden(path) ? undefined : firstOf((l) => l.readBytes(path, max))),
    listDir(path) {
      if (hidden(path)) return undefined;
      const lists = layers.map((layer) => layer.listDir(path));
      if (lists.every((list) => list === undefined)) return undefined;
      const names = new Set(lists.flatMap((list) => list ?? []));
      return [...names].filter((name) => !hidden(`${path.replace(/\/$/, '')}/${name}`)).sort();
    },
    stat,
    uname: () => ({
      sysname: metadata.uname.sysname ?? '',
      machine: metadata.uname.machine ?? '',
      release: metadata.uname.release ?? '',
    }),
    identity,
    openReadWrite(path): OpenResult {
      const declared = metadata.open[path];
      if (declared !== undefined)
        return declared === 'ok' ? { ok: true } : { ok: false, code: declared };
      const node = stat(path);
      if (node === undefined) return { ok: false, code: 'ENOENT' };
      if (node.kind === 'dir') return { ok: false, code: 'EISDIR' };
      return permits(node, identity()) ? { ok: true } : { ok: false, code: 'EACCES' };
    },
    which(name) {
      const list = metadata.executables ?? [];
      return name.startsWith('/')
        ? list.find((e) => e === name)
        : list.find((e) => basename(e) === name);
    },
    run(file): RunResult {
      const scripted = metadata.run[basename(file)];
      if (scripted === undefined) {
        return { status: null, stdout: '', stderr: '', timedOut: false, error: 'ENOENT' };
      }
      return scripted;
    },
  };
}
