import type { Collection, Document, Filter } from 'mongodb';
import type {
  EventFilter,
  EventListing,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
} from '../../users/outbox.ts';
import { OUTBOX_DELIVERIES, type DeliveryDocument, type EventDocument } from './mongo-schema.ts';
import { toDelivery, toEvent } from './mongo-outbox-rows.ts';

/*
 * The outbox's upkeep on MongoDB: what `admin events` and the clock use. The delivery path
 * (fan-out, claims, settling) is in mongo-outbox.ts.
 */

export interface OutboxCollections {
  events: Collection<EventDocument>;
  deliveries: Collection<DeliveryDocument>;
}

/** Events oldest first, with their deliveries (to `filter.endpoint` only, when given). */
export async function listEvents(
  collections: OutboxCollections,
  filter: EventFilter,
): Promise<EventListing[]> {
  const { events } = collections;
  const match: Filter<EventDocument> = {};
  if (filter.type !== undefined) match.type = filter.type;
  if (filter.userId !== undefined) match.userId = filter.userId;
  if (filter.afterSequence !== undefined) match._id = { $gt: filter.afterSequence };
  const wanted: Document = {};
  if (filter.status !== undefined) wanted.status = filter.status;
  if (filter.endpoint !== undefined) wanted.endpoint = filter.endpoint;
  const pipeline: Document[] = [
    { $match: match },
    { $sort: { _id: 1 } },
    {
      $lookup: {
        from: OUTBOX_DELIVERIES,
        localField: '_id',
        foreignField: 'sequence',
        as: 'deliveries',
      },
    },
    ...(Object.keys(wanted).length > 0 ? [{ $match: { deliveries: { $elemMatch: wanted } } }] : []),
    { $limit: filter.limit },
  ];
  const docs = await events
    .aggregate<EventDocument & { deliveries: DeliveryDocument[] }>(pipeline)
    .toArray();
  return docs.map((doc) => ({
    event: toEvent(doc),
    deliveries: doc.deliveries
      .filter((d) => filter.endpoint === undefined || d.endpoint === filter.endpoint)
      .sort((a, b) => a.endpoint.localeCompare(b.endpoint))
      .map(toDelivery),
  }));
}

/** Dead letters pending again, due at once, with a fresh retry budget. */
export async function redeliverDead(
  collections: OutboxCollections,
  options: RedeliverOptions,
): Promise<number> {
  const { deliveries } = collections;
  const filter: Filter<DeliveryDocument> = { status: 'dead' };
  if (options.endpoint !== undefined) filter.endpoint = options.endpoint;
  if (options.sequence !== undefined) filter.sequence = options.sequence;
  const now = new Date(options.now);
  const result = await deliveries.updateMany(filter, {
    $set: {
      status: 'pending',
      attempts: 0,
      pendingSince: now,
      nextAttemptAt: now,
      leaseOwner: null,
      leaseUntil: null,
    },
  });
  return result.modifiedCount;
}

/** Old events settled for every endpoint in use, in batches. */
export async function purgeSettled(
  collections: OutboxCollections,
  options: PurgeOptions,
): Promise<number> {
  const { events, deliveries } = collections;
  const before = new Date(options.before);
  let purged = 0;
  let after = -1;
  for (;;) {
    const filter: Filter<EventDocument> = { _id: { $gt: after }, occurredAt: { $lt: before } };
    if (options.endpoints.length > 0) filter.fannedOutAt = { $ne: null };
    const batch = (
      await events
        .find(filter, { sort: { _id: 1 }, limit: options.batchSize })
        .project<{ _id: number }>({ _id: 1 })
        .toArray()
    ).map((doc) => doc._id);
    if (batch.length === 0) break;
    after = batch.at(-1) ?? after;
    const kept = new Set(
      options.endpoints.length === 0
        ? []
        : await deliveries.distinct('sequence', {
            sequence: { $in: batch },
            status: { $in: ['pending', 'dead'] },
            endpoint: { $in: [...options.endpoints] },
          }),
    );
    const doomed = batch.filter((sequence) => !kept.has(sequence));
    if (doomed.length > 0) {
      // Deliveries first: a crash in between leaves settled events, which the next run takes.
      await deliveries.deleteMany({ sequence: { $in: doomed } });
      purged += (await events.deleteMany({ _id: { $in: doomed } })).deletedCount;
    }
    if (batch.length < options.batchSize) break;
  }
  return purged;
}

/** Counts and the oldest waiting event, for the lag gauge and the report. */
export async function outboxStats(collections: OutboxCollections): Promise<OutboxStats> {
  const { events, deliveries } = collections;
  const [unfanned, pending, dead, oldestUnfanned, firstPending] = await Promise.all([
    events.countDocuments({ fannedOutAt: null }),
    deliveries.countDocuments({ status: 'pending' }),
    deliveries.countDocuments({ status: 'dead' }),
    events.findOne({ fannedOutAt: null }, { sort: { _id: 1 } }),
    deliveries.findOne({ status: 'pending' }, { sort: { sequence: 1 } }),
  ]);
  const oldestPending = firstPending ? await events.findOne({ _id: firstPending.sequence }) : null;
  const times = [oldestUnfanned, oldestPending].flatMap((doc) =>
    doc ? [doc.occurredAt.toISOString()] : [],
  );
  return {
    unfannedEvents: unfanned,
    pendingDeliveries: pending,
    deadLetters: dead,
    oldestWaitingAt: times.sort()[0],
  };
}
