import { spawn } from 'node:child_process';
import {
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statSync,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, posix } from 'node:path';
import {
  execForm,
  parsePairs,
  splitFlags,
  splitWords,
  substitute,
  type Dockerfile,
  type Instruction,
  type Stage,
} from './dockerfile.ts';
import { DockerIgnore } from './dockerignore.ts';

/** A stage's result: its filesystem (image `/` mapped to `root`) and its image config. */
export interface ImageStage {
  root: string;
  workdir: string;
  env: Record<string, string>;
  labels: Record<string, string>;
  user: string | undefined;
  cmd: string[] | undefined;
  volumes: string[];
  exposed: string[];
}

export interface ReplayOptions {
  dockerfile: Dockerfile;
  /** The build context (the repository root). */
  context: string;
  /** An empty directory to build in. */
  scratch: string;
  buildArgs: Record<string, string>;
  /** The environment npm runs with (PATH, HOME, npm_config_*). */
  toolEnv: Record<string, string>;
}

export interface Replay {
  final: ImageStage;
  /** Every file the builder would receive as context. */
  contextFiles: string[];
  /** What the replay did, one line per step, for a failing test's message. */
  steps: string[];
}

/**
 * Replays a Dockerfile without a Docker engine: each stage's filesystem is a directory, COPY
 * copies from the `.dockerignore`-filtered context or another stage, and RUN runs the few
 * commands this repository's Dockerfile uses (npm ci/rebuild/run, mkdir, chown) on this
 * machine. The base image itself is not reproduced: this machine's Node.js stands in for it, so
 * the test checks the base's Node.js major matches. Anything else fails loudly rather than being
 * skipped, so the replay cannot silently drift from the Dockerfile.
 */
export async function replayDockerfile(options: ReplayOptions): Promise<Replay> {
  const { dockerfile, scratch } = options;
  const steps: string[] = [];
  const contextDir = join(scratch, 'context');
  mkdirSync(contextDir, { recursive: true });
  const contextFiles = DockerIgnore.read(options.context).materialize(options.context, contextDir);
  steps.push(`context: ${contextFiles.length} files`);

  const globalArgs: Record<string, string> = {};
  for (const arg of dockerfile.globalArgs) Object.assign(globalArgs, declareArg(arg, options));

  const built = new Map<string, Promise<ImageStage>>();
  const build = (stage: Stage): Promise<ImageStage> => {
    let result = built.get(stage.name);
    if (!result) {
      result = buildStage(stage);
      built.set(stage.name, result);
    }
    return result;
  };
  const stageNamed = (name: string) => dockerfile.stages.find((stage) => stage.name === name);

  async function buildStage(stage: Stage): Promise<ImageStage> {
    const index = dockerfile.stages.indexOf(stage);
    const root = join(scratch, `stage-${index}-${stage.name}`);
    const from = substitute(stage.from, globalArgs);
    const parent = stageNamed(from);
    let state: ImageStage;
    if (parent) {
      const base = await build(parent);
      cpSync(base.root, root, { recursive: true, verbatimSymlinks: true });
      state = { ...structuredClone(base), root };
    } else {
      mkdirSync(root, { recursive: true });
      state = {
        root,
        workdir: '/',
        env: {},
        labels: {},
        user: undefined,
        cmd: undefined,
        volumes: [],
        exposed: [],
      };
    }
    const args: Record<string, string> = {};
    const vars = () => ({ ...args, ...state.env });
    const inImage = (path: string) => join(root, posix.resolve(state.workdir, path));

    for (const instruction of stage.instructions) {
      const where = `${stage.name}, line ${instruction.line}`;
      switch (instruction.keyword) {
        case 'ARG':
          Object.assign(args, declareArg(instruction, options, globalArgs));
          break;
        case 'ENV':
          Object.assign(state.env, parsePairs(instruction.args, vars()));
          break;
        case 'LABEL':
          Object.assign(state.labels, parsePairs(instruction.args, vars()));
          break;
        case 'WORKDIR':
          state.workdir = posix.resolve(state.workdir, substitute(instruction.args, vars()));
          mkdirSync(join(root, state.workdir), { recursive: true });
          break;
        case 'USER':
          state.user = substitute(instruction.args, vars());
          break;
        case 'EXPOSE':
          state.exposed.push(...splitWords(instruction.args));
          break;
        case 'VOLUME':
          state.volumes.push(...(execForm(instruction.args) ?? splitWords(instruction.args)));
          break;
        case 'CMD': {
          const cmd = execForm(instruction.args);
          if (!cmd) throw new Error(`${where}: CMD must be the exec form (PID 1 gets SIGTERM)`);
          state.cmd = cmd;
          break;
        }
        case 'COPY':
          await copy(instruction, state, vars(), where);
          break;
        case 'RUN':
          await run(instruction, state, vars(), inImage, where);
          break;
        default:
          throw new Error(`${where}: the replay does not know ${instruction.keyword}; teach it`);
      }
    }
    return state;
  }

  async function copy(
    instruction: Instruction,
    state: ImageStage,
    vars: Record<string, string>,
    where: string,
  ) {
    const { flags, rest } = splitFlags(substitute(instruction.args, vars));
    const words = execForm(rest) ?? splitWords(rest);
    const dest = words.pop()!;
    let sourceRoot = contextDir;
    if (flags.from) {
      const stage = stageNamed(flags.from);
      if (!stage) throw new Error(`${where}: COPY --from=${flags.from}: no such stage`);
      sourceRoot = (await build(stage)).root;
    }
    const target = join(state.root, posix.resolve(state.workdir, dest));
    const intoDirectory = dest.endsWith('/') || words.length > 1;
    for (const source of words) {
      if (/[*?[]/.test(source)) throw new Error(`${where}: COPY globs are not replayed`);
      const from = join(
        sourceRoot,
        flags.from ? posix.resolve('/', source) : posix.normalize(source),
      );
      if (!existsSync(from)) {
        throw new Error(
          flags.from
            ? `${where}: COPY ${source}: stage ${flags.from} has no such path`
            : `${where}: COPY ${source}: not in the build context (excluded by .dockerignore?)`,
        );
      }
      const to = statSync(from).isDirectory()
        ? target
        : intoDirectory
          ? join(target, basename(from))
          : target;
      mkdirSync(statSync(from).isDirectory() ? to : dirname(to), { recursive: true });
      cpSync(from, to, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
      if (flags.chown) chownTree(to, flags.chown);
      steps.push(`${where}: COPY ${flags.from ? `--from=${flags.from} ` : ''}${source} ${dest}`);
    }
  }

  async function run(
    instruction: Instruction,
    state: ImageStage,
    vars: Record<string, string>,
    inImage: (path: string) => string,
    where: string,
  ) {
    const { rest } = splitFlags(instruction.args);
    const script = substitute(execForm(rest)?.join(' ') ?? rest, vars);
    for (const command of script.split('&&').map((part) => part.trim())) {
      const [program, ...argv] = splitWords(command);
      if (program === 'npm' && ['ci', 'rebuild', 'run'].includes(argv[0] ?? '')) {
        await exec('npm', argv, {
          cwd: join(state.root, state.workdir),
          env: { ...options.toolEnv, ...state.env },
        });
      } else if (program === 'mkdir') {
        for (const path of argv.filter((word) => !word.startsWith('-'))) {
          mkdirSync(inImage(path), { recursive: true });
        }
      } else if (program === 'chown') {
        const [owner, ...paths] = argv.filter((word) => !word.startsWith('-'));
        for (const path of paths) chownTree(inImage(path), owner!);
      } else {
        throw new Error(`${where}: the replay does not know \`${command}\`; teach it`);
      }
      steps.push(`${where}: RUN ${command}`);
    }
  }

  const last = dockerfile.stages.at(-1);
  if (!last) throw new Error('the Dockerfile has no stage');
  return { final: await build(last), contextFiles, steps };
}

function declareArg(
  instruction: Instruction,
  options: ReplayOptions,
  globals: Record<string, string> = {},
): Record<string, string> {
  const [name, fallback] = instruction.args.split(/=(.*)/s) as [string, string | undefined];
  return { [name]: options.buildArgs[name] ?? fallback ?? globals[name] ?? '' };
}

/** `chown -R uid:gid`, numeric only (the image's users are numeric). Needs root. */
function chownTree(path: string, owner: string) {
  const [uid, gid] = owner.split(':').map(Number);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`not numeric: ${owner}`);
  const visit = (current: string) => {
    chownSync(current, uid!, gid!);
    if (lstatSync(current).isDirectory()) {
      for (const entry of readdirSync(current)) visit(join(current, entry));
    }
  };
  visit(isAbsolute(path) ? path : join(process.cwd(), path));
}

function exec(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += String(chunk)));
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}
