import { CompiledQuery } from 'kysely';

export interface FanOutOptions {
  endpoints: readonly string[];
  now: string;
  limit: number;
}

/**
 * A fan-out as one statement where the engine has data-modifying CTEs (PostgreSQL): the oldest
 * events not fanned out yet, row-locked and skipping those another worker is fanning out, a
 * pending delivery for each and every endpoint, and the events marked fanned out, in one round
 * trip and no transaction of its own, where the transaction took six (a probe, BEGIN, the
 * select, the insert, the update, COMMIT), several times a second per worker while changes keep
 * coming. With nothing to fan out it is one index look-up on an empty partial index, as the
 * probe was. The endpoints are one array parameter, so the statement is the same, prepared once
 * per connection, whatever their number.
 */
export const FAN_OUT = `with picked as materialized (
    select sequence, user_id from outbox_events
    where fanned_out_at is null
    order by sequence
    limit $3
    for update skip locked),
  fanned as (
    insert into outbox_deliveries
      (endpoint, event_sequence, user_id, status, attempts, pending_since, next_attempt_at)
    select u.endpoint, p.sequence, p.user_id, 'pending', 0, $2::timestamptz, $2::timestamptz
    from picked p cross join unnest($1::text[]) as u(endpoint)
    on conflict (endpoint, event_sequence) do nothing),
  marked as (
    update outbox_events e set fanned_out_at = $2::timestamptz
    where e.sequence = any(array(select sequence from picked))
    returning 1)
  select count(*)::int as fanned from marked`;

/** The one-statement fan-out, run by the engine's `writeStatement` (prepared by name). */
export async function fanOutInOneStatement(
  statement: (query: CompiledQuery) => Promise<unknown[]>,
  options: FanOutOptions,
): Promise<number> {
  const rows = (await statement(
    CompiledQuery.raw(FAN_OUT, [options.endpoints, options.now, options.limit]),
  )) as { fanned: number }[];
  return rows[0]?.fanned ?? 0;
}
