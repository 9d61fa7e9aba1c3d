import { endpointLabel } from '../webhooks/webhook-message.ts';
import { DELIVERY_STATUSES, type DeliveryStatus, type EventFilter } from '../users/outbox.ts';
import { isUserId } from '../users/user.ts';
import { USER_EVENT_TYPES, type UserEventType } from '../users/user-events.ts';
import {
  EXIT,
  UsageError,
  integerOption,
  parseOptions,
  type AdminCommand,
  type AdminContext,
} from './command.ts';

const USAGE = `Usage: admin events list [--status S] [--endpoint URL] [--user ID] [--type T]
                         [--after SEQUENCE] [--limit N] [--json]
       admin events redeliver (--sequence N | --all) [--endpoint URL]

The outbox: every change to a user, and its delivery to each WEBHOOK_URLS endpoint.

list         events oldest first, one line per event and endpoint
  --status     pending, delivered or dead (dead letters: retries given up)
  --endpoint   deliveries to this URL only
  --user       events of this user id
  --type       user.created, user.updated or user.deleted
  --after      events with a sequence above this one (to page on)
  --limit      at most this many events (default 100, at most 10000)
  --json       one JSON object per event and line, with its deliveries
redeliver    makes dead letters pending again with a fresh retry budget; a running worker
             sends them at once (they may then arrive after later events of the same user)
  --sequence   the dead letters of this event
  --all        every dead letter (of --endpoint, when given)

Exit codes: 0 done, 64 usage, 69 store unreachable, 78 bad config.
`;

const OPTIONS = {
  status: { type: 'string' },
  endpoint: { type: 'string' },
  user: { type: 'string' },
  type: { type: 'string' },
  after: { type: 'string' },
  limit: { type: 'string' },
  json: { type: 'boolean' },
  sequence: { type: 'string' },
  all: { type: 'boolean' },
} as const;

type Options =
  | { action: 'list'; filter: EventFilter; json: boolean }
  | { action: 'redeliver'; endpoint: string | undefined; sequence: number | undefined };

const MAX_SEQUENCE = Number.MAX_SAFE_INTEGER;

function oneOf<T extends string>(name: string, raw: string | undefined, values: readonly T[]) {
  if (raw === undefined || (values as readonly string[]).includes(raw)) return raw as T | undefined;
  throw new UsageError(`--${name} must be one of ${values.join(', ')}`);
}

function parse(argv: string[]): Options {
  const [action, ...rest] = argv;
  if (action !== 'list' && action !== 'redeliver') {
    throw new UsageError('say what to do: list or redeliver');
  }
  const values = parseOptions(rest, OPTIONS);
  const only = (allowed: string[]) => {
    const extra = Object.keys(values).filter((key) => !allowed.includes(key));
    if (extra.length > 0) throw new UsageError(`${action} takes no --${extra[0]}`);
  };
  if (action === 'redeliver') {
    only(['sequence', 'all', 'endpoint']);
    if ((values.sequence === undefined) === (values.all !== true)) {
      throw new UsageError('redeliver needs --sequence N or --all');
    }
    const sequence =
      values.sequence === undefined
        ? undefined
        : integerOption('sequence', values.sequence, { min: 1, max: MAX_SEQUENCE, default: 0 });
    return { action, endpoint: values.endpoint, sequence };
  }
  only(['status', 'endpoint', 'user', 'type', 'after', 'limit', 'json']);
  if (values.user !== undefined && !isUserId(values.user)) {
    throw new UsageError('--user must be a user id (24 lowercase hex digits)');
  }
  return {
    action,
    json: values.json === true,
    filter: {
      status: oneOf<DeliveryStatus>('status', values.status, DELIVERY_STATUSES),
      type: oneOf<UserEventType>('type', values.type, USER_EVENT_TYPES),
      endpoint: values.endpoint,
      userId: values.user,
      afterSequence:
        values.after === undefined
          ? undefined
          : integerOption('after', values.after, { min: 0, max: MAX_SEQUENCE, default: 0 }),
      limit: integerOption('limit', values.limit, { min: 1, max: 10_000, default: 100 }),
    },
  };
}

async function list(
  { store, io }: AdminContext,
  options: Extract<Options, { action: 'list' }>,
): Promise<number> {
  const listings = await store.outbox.list(options.filter);
  if (options.json) {
    for (const listing of listings) io.stdout.write(`${JSON.stringify(listing)}\n`);
    return EXIT.ok;
  }
  io.stdout.write(
    'sequence\tevent\ttype\tuser\toccurredAt\tendpoint\tstatus\tattempts\tlastError\n',
  );
  for (const { event, deliveries } of listings) {
    const head = [event.sequence, event.id, event.type, event.userId, event.occurredAt];
    const rows = deliveries.length > 0 ? deliveries : [undefined];
    for (const d of rows) {
      const tail = d
        ? [endpointLabel(d.endpoint), d.status, d.attempts, d.lastError ?? '']
        : ['-', 'unsent', 0, ''];
      io.stdout.write(`${[...head, ...tail].join('\t')}\n`);
    }
  }
  io.stderr.write(`events: ${listings.length} event(s)\n`);
  return EXIT.ok;
}

async function redeliver(
  { store, logger, io }: AdminContext,
  options: Extract<Options, { action: 'redeliver' }>,
): Promise<number> {
  const count = await store.outbox.redeliver({
    endpoint: options.endpoint,
    sequence: options.sequence,
    now: new Date().toISOString(),
  });
  logger.info(
    {
      redelivered: count,
      sequence: options.sequence,
      endpoint: options.endpoint && endpointLabel(options.endpoint),
    },
    'dead letters queued again',
  );
  io.stdout.write(`events: ${count} dead letter(s) queued for delivery again\n`);
  return EXIT.ok;
}

/** `admin events`: look into the outbox, and give dead letters another chance. */
export const eventsCommand: AdminCommand<Options> = {
  name: 'events',
  usage: USAGE,
  needsSchema: true,
  parse,
  run(context, options) {
    return options.action === 'list' ? list(context, options) : redeliver(context, options);
  },
};
