import { ms, type Variable } from './variable-types.ts';

/** The worker's and the clock's variables (the transactional outbox, docs/adr/0005), declared like every other in variables.ts. */
export const EVENT_VARIABLES = [
  {
    name: 'WEBHOOK_URLS',
    type: { kind: 'string' },
    default: undefined,
    secret: true,
    description: 'Where the worker POSTs every user event, comma-separated http(s) URLs.',
  },
  {
    name: 'WEBHOOK_SECRET',
    type: { kind: 'string' },
    default: undefined,
    secret: true,
    description:
      'Signs webhooks (`whsec_…`, Standard Webhooks); several, comma-separated, during a rotation.',
  },
  {
    name: 'WEBHOOK_TIMEOUT_MS',
    type: ms(100, 120_000),
    default: '10000',
    description: 'How long one webhook attempt may take before it counts as failed.',
  },
  {
    name: 'WEBHOOK_MAX_ATTEMPTS',
    type: { kind: 'integer', min: 1, max: 1000 },
    default: '15',
    description: 'Attempts per event and URL before it becomes a dead letter.',
  },
  {
    name: 'WEBHOOK_MAX_AGE_MS',
    type: ms(1000, 2_592_000_000),
    default: '86400000',
    description:
      'How long an event is retried for (from its fan-out) before it becomes a dead letter.',
  },
  {
    name: 'WEBHOOK_RETRY_BASE_MS',
    type: ms(10, 3_600_000),
    default: '1000',
    description:
      'First retry delay; each later one doubles, with jitter, up to WEBHOOK_RETRY_MAX_MS.',
  },
  {
    name: 'WEBHOOK_RETRY_MAX_MS',
    type: ms(10, 86_400_000),
    default: '3600000',
    description: 'Longest delay between two attempts.',
  },
  {
    name: 'WORKER_PORT',
    type: { kind: 'port' },
    default: '9464',
    description: 'Port of the worker’s /healthz, /readyz and /metrics.',
  },
  {
    name: 'WORKER_CONCURRENCY',
    type: { kind: 'integer', min: 1, max: 1000 },
    default: '64',
    description: 'Webhooks one worker has in flight per URL (one per user at a time, for order).',
  },
  {
    name: 'WORKER_LEASE_MS',
    type: ms(1000, 3_600_000),
    default: '60000',
    description:
      'How long a claimed delivery is a worker’s; then another may take it (above WEBHOOK_TIMEOUT_MS; at three times it or more, claims take deliveries ahead of free slots).',
  },
  {
    name: 'WORKER_POLL_MS',
    type: ms(10, 60_000),
    default: '500',
    description: 'How often an idle worker looks for new events.',
  },
  {
    name: 'CLOCK_PORT',
    type: { kind: 'port' },
    default: '9465',
    description: 'Port of the clock’s /healthz, /readyz and /metrics.',
  },
  {
    name: 'CLOCK_PURGE_CRON',
    type: { kind: 'string' },
    default: '0 * * * *',
    description: 'When the clock purges settled events older than EVENT_RETENTION_MS (cron, UTC).',
  },
  {
    name: 'CLOCK_REPORT_CRON',
    type: { kind: 'string' },
    default: '* * * * *',
    description: 'When the clock logs and exports outbox lag and dead letters (cron, UTC).',
  },
  {
    name: 'EVENT_RETENTION_MS',
    type: ms(60_000, 31_536_000_000),
    default: '604800000',
    description: 'How long delivered events are kept before the clock purges them.',
  },
] as const satisfies readonly Variable[];
