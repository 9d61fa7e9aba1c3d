import { once } from 'node:events';
import { start } from 'node:repl';
import { EXIT, parseOptions, type AdminCommand, type AdminContext } from './command.ts';

const USAGE = `Usage: admin console

Opens a REPL with the service's own objects loaded (top-level await works):

  config   the parsed configuration
  store    the UserStore for DATABASE_URL / MONGO_URL
  users    the UserService, e.g. await users.list({ limit: 5 }), await users.get(id)

Needs a terminal: without one (a pipe, a CI job) it refuses rather than hang.
Exit codes: 0 after .exit or Ctrl-D, 64 usage or no terminal, 78 bad config.
`;

async function openConsole({ config, store, users, io }: AdminContext): Promise<number> {
  if (io.stdin.isTTY !== true || io.stdout.isTTY !== true) {
    io.stderr.write(
      'admin console: needs an interactive terminal (stdin and stdout must be a TTY); ' +
        'use `docker compose run --rm web …` without -T, or `kubectl exec -it`\n',
    );
    return EXIT.usage;
  }
  io.stdout.write(`${store.kind} store loaded: config, store, users. .exit or Ctrl-D leaves.\n`);
  const repl = start({
    prompt: '12factor> ',
    input: io.stdin,
    output: io.stdout,
    useGlobal: false,
  });
  Object.assign(repl.context, { config, store, users });
  await once(repl, 'exit');
  return EXIT.ok;
}

/** `admin console`: a REPL on the service's config, store and use cases. */
export const consoleCommand: AdminCommand<Record<string, never>> = {
  name: 'console',
  usage: USAGE,
  needsSchema: false,
  parse(argv) {
    parseOptions(argv, {});
    return {};
  },
  run: openConsole,
};
