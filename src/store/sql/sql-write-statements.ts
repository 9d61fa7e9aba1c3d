import type { User } from '../../users/user.ts';
import { createdEvent, type UserEventType } from '../../users/user-events.ts';
import { eventRow } from './sql-outbox-rows.ts';
import { userJson } from './sql-record-json.ts';
import { userRowValues } from './sql-record-statements.ts';

/*
 * PostgreSQL's one-statement writes. An update's and a delete's event carries the record as it
 * was, which only the statement sees: it writes the payload itself (userJson), the very text
 * eventPayload writes, so the worker reads one shape whoever wrote it.
 */
const type = (name: UserEventType) => `'${name}'`;

/** A create inside the caller's transaction (under an Idempotency-Key): the row, then its event. */
export const CREATE_WITH_EVENT = `with changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    values ($1, $2, $3, $4, $5, $6, $7) returning id)
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select $8, ${type('user.created')}, id, $9::timestamptz, $10, $11 from changed`;

/*
 * The statements below each take a batch: the writes that arrived in one turn of the event loop,
 * one record each, their values bound as one array per column (so the statement's text, and its
 * prepared plan, are the same for any batch). One round trip, one plan and one commit (group
 * commit, as SQLite's CommitGroup gives its transactions) for the batch, each write still all or
 * nothing for its record and its event.
 */

/**
 * A row whose e-mail is taken, by a committed row or an earlier row of the batch, is skipped (ON
 * CONFLICT waits for an uncommitted holder of the key and skips only if that commits), and only
 * the rows written get an event; the statement answers their ids.
 */
export const CREATE_MANY = `with input as (
    select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[],
      $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[], $10::text[])
      as i(id, name, email, email_key, name_key, created_at, updated_at, event_id, payload,
        trace_parent)),
  changed as (
    insert into users (id, name, email, email_key, name_key, created_at, updated_at)
    select id, name, email, email_key, name_key, created_at, updated_at from input
    on conflict (email_key) do nothing
    returning id)
  insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
  select i.event_id, ${type('user.created')}, i.id, i.created_at, i.payload, i.trace_parent
  from input i join changed c on c.id = i.id
  returning user_id as id`;

/**
 * Each record is read with its row lock (`current`; locked in id order, so batches running at
 * once never deadlock), so a concurrent write to it either committed before (and is what it
 * reads) or waits until this statement commits; the change is decided from it as updatedRecord
 * decides: a name or an e-mail not given stays, updated_at becomes max(now, previous + 1 ms),
 * and nothing is written where `if_updated_at` no longer matches. The statement answers each
 * record found as it was, whether it was written, and as it is now.
 */
export const UPDATE_MANY = `with input as (
    select * from unnest($1::char(24)[], $2::text[], $3::text[], $4::boolean[], $5::text[],
      $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[])
      as i(id, name, name_key, email_given, email, email_key, now, if_updated_at, event_id,
        trace_parent)),
  current as (
    select u.id, u.name, u.email, u.email_key, u.name_key, u.created_at, u.updated_at,
      i.name as in_name, i.name_key as in_name_key, i.email_given, i.email as in_email,
      i.email_key as in_email_key, i.now, i.if_updated_at, i.event_id, i.trace_parent
    from users u join input i on i.id = u.id
    order by u.id for update of u),
  changed as (
    update users u set
      name = coalesce(c.in_name, c.name),
      name_key = case when c.in_name is null then c.name_key else c.in_name_key end,
      email = case when c.email_given then c.in_email else c.email end,
      email_key = case when c.email_given then c.in_email_key else c.email_key end,
      updated_at = greatest(c.now, c.updated_at + interval '1 millisecond')
    from current c
    where u.id = c.id and (c.if_updated_at is null or c.updated_at = c.if_updated_at)
    returning u.id, u.name, u.email, u.name_key, u.created_at, u.updated_at),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select c.event_id, ${type('user.updated')}, n.id, n.updated_at,
      '{"before":' || ${userJson('c')} || ',"after":' || ${userJson('n')} || '}',
      c.trace_parent
    from current c join changed n on n.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, n.id is not null as written,
    n.name as new_name, n.email as new_email, n.updated_at as new_updated_at,
    n.name_key is null as key_unset
  from current c left join changed n on n.id = c.id`;

/**
 * The folded name of a record an update left without one (it kept a name that an older release
 * wrote; see fillNameKeys), as SQLite's update writes it: only if the row still has that name.
 */
export const FILL_NAME_KEY = `update users set name_key = $1
  where id = $2 and name = $3 and name_key is null`;

/** As UPDATE_MANY, for deletes: each event's time is its caller's. */
export const DELETE_MANY = `with input as (
    select * from unnest($1::char(24)[], $2::timestamptz[], $3::text[], $4::timestamptz[],
      $5::text[]) as i(id, if_updated_at, event_id, occurred_at, trace_parent)),
  current as (
    select u.id, u.name, u.email, u.created_at, u.updated_at, i.if_updated_at, i.event_id,
      i.occurred_at, i.trace_parent
    from users u join input i on i.id = u.id
    order by u.id for update of u),
  changed as (
    delete from users u using current c
    where u.id = c.id and (c.if_updated_at is null or c.updated_at = c.if_updated_at)
    returning u.id),
  recorded as (
    insert into outbox_events (id, type, user_id, occurred_at, payload, trace_parent)
    select c.event_id, ${type('user.deleted')}, c.id, c.occurred_at,
      '{"before":' || ${userJson('c')} || ',"after":null}', c.trace_parent
    from current c join changed d on d.id = c.id)
  select c.id, c.name, c.email, c.created_at, c.updated_at, d.id is not null as written
  from current c left join changed d on d.id = c.id`;

/** A row UPDATE_MANY or DELETE_MANY answers: the record as it was, and whether it was written. */
export interface WrittenRow {
  id: string;
  name: string;
  email: string | null;
  created_at: Date;
  updated_at: Date;
  written: boolean;
  new_name?: string;
  new_email?: string | null;
  new_updated_at?: Date;
  /** Written, keeping a name whose folded key is unset. */
  key_unset?: boolean;
}

/**
 * `ifUpdatedAt` as the statements compare it: to the millisecond, as isStale does; a value that
 * is no time at all matches no record.
 */
export const expected = (ifUpdatedAt: string | undefined) => {
  if (ifUpdatedAt === undefined) return null;
  const ms = Date.parse(ifUpdatedAt);
  return Number.isNaN(ms) ? '-infinity' : new Date(ms).toISOString();
};

/** A create's values in CREATE_WITH_EVENT's order: the row's seven, then its event's four. */
export function createValues(user: User): unknown[] {
  const event = eventRow(createdEvent(user));
  return [...userRowValues(user), event.id, event.occurred_at, event.payload, event.trace_parent];
}
