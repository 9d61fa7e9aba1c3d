import {
  MongoBulkWriteError,
  type ClientSession,
  type Collection,
  type Db,
  type Document,
  type Filter,
} from 'mongodb';
import type {
  ClaimOptions,
  Delivery,
  DeliveryKey,
  DeliveryStatus,
  EventFilter,
  EventListing,
  FailOptions,
  Outbox,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
  TickClaim,
} from '../../users/outbox.ts';
import type { UserChange, UserEvent } from '../../users/user-events.ts';
import { addMs, clipError, newEventId, userEvent } from '../user-event-records.ts';
import { isDuplicateKey } from './mongo-errors.ts';
import {
  CLOCK_TICKS,
  COUNTERS,
  EVENT_COUNTER,
  OUTBOX_DELIVERIES,
  OUTBOX_EVENTS,
  type CounterDocument,
  type DeliveryDocument,
  type EventDocument,
  type TickDocument,
} from './mongo-schema.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * Writes the events of changes, numbered by one `$inc` of the counter. Inside the changes'
 * transaction where the deployment has them; on a standalone server right after the changes,
 * which is the documented weaker guarantee.
 */
export async function recordMongoEvents(
  db: Db,
  changes: readonly UserChange[],
  session: ClientSession | undefined,
): Promise<void> {
  if (changes.length === 0) return;
  const counter = await db
    .collection<CounterDocument>(COUNTERS)
    .findOneAndUpdate(
      { _id: EVENT_COUNTER },
      { $inc: { value: changes.length } },
      { upsert: true, returnDocument: 'after', session },
    );
  if (!counter) throw new Error('the outbox counter did not return a value');
  const first = counter.value - changes.length + 1;
  await db.collection<EventDocument>(OUTBOX_EVENTS).insertMany(
    changes.map((change, i) => ({
      _id: first + i,
      eventId: newEventId(),
      type: change.type,
      userId: change.userId,
      occurredAt: new Date(change.occurredAt),
      before: change.before,
      after: change.after,
      fannedOutAt: null,
    })),
    { session, ordered: true },
  );
}

const toEvent = (doc: EventDocument): UserEvent =>
  userEvent({
    id: doc.eventId,
    sequence: doc._id,
    type: doc.type,
    occurredAt: doc.occurredAt,
    userId: doc.userId,
    payload: { before: doc.before, after: doc.after } as Pick<UserEvent, 'before' | 'after'>,
  });

const toDelivery = (doc: DeliveryDocument): Omit<Delivery, 'event'> => ({
  endpoint: doc.endpoint,
  status: doc.status as DeliveryStatus,
  attempts: doc.attempts,
  pendingSince: doc.pendingSince.toISOString(),
  nextAttemptAt: doc.nextAttemptAt.toISOString(),
  lastError: doc.lastError ?? undefined,
  deliveredAt: doc.deliveredAt?.toISOString(),
});

const deliveryId = (endpoint: string, sequence: number) => `${sequence} ${endpoint}`;
const leaseFree = (now: Date): Filter<DeliveryDocument> => ({
  $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
});

/**
 * The Outbox on MongoDB. Claims are findOneAndUpdate on one delivery at a time, matching only
 * while it is pending and unleased, so two workers never hold the same delivery. Fan-out writes
 * the deliveries (idempotent upserts) before marking the events, and the claim checks unfanned
 * events before pending deliveries: in that order, no transaction is needed for per-user order.
 */
export class MongoOutbox implements Outbox {
  private readonly database: () => Promise<Db>;
  private readonly guard: Guard;

  constructor(database: () => Promise<Db>, guard: Guard) {
    this.database = database;
    this.guard = guard;
  }

  fanOut(options: { endpoints: readonly string[]; now: string; limit: number }): Promise<number> {
    return this.guard(async () => {
      const { events, deliveries } = await this.collections();
      const now = new Date(options.now);
      const batch = await events
        .find({ fannedOutAt: null }, { sort: { _id: 1 }, limit: options.limit })
        .project<{ _id: number; userId: string }>({ _id: 1, userId: 1 })
        .toArray();
      if (batch.length === 0) return 0;
      const upserts = batch.flatMap((event) =>
        options.endpoints.map((endpoint) => ({
          updateOne: {
            filter: { _id: deliveryId(endpoint, event._id) },
            update: {
              $setOnInsert: {
                endpoint,
                sequence: event._id,
                userId: event.userId,
                status: 'pending',
                attempts: 0,
                pendingSince: now,
                nextAttemptAt: now,
                leaseOwner: null,
                leaseUntil: null,
                lastError: null,
                deliveredAt: null,
              },
            },
            upsert: true,
          },
        })),
      );
      if (upserts.length > 0) {
        try {
          await deliveries.bulkWrite(upserts, { ordered: false });
        } catch (error) {
          // Two workers upserting one delivery at once: one insert wins, the other collides.
          // writeErrors is one error or several (OneOrMore in the driver's types).
          const onlyDuplicates =
            error instanceof MongoBulkWriteError &&
            [error.writeErrors].flat().every((e) => e.code === 11000);
          if (!onlyDuplicates) throw error;
        }
      }
      await events.updateMany(
        { _id: { $in: batch.map((e) => e._id) }, fannedOutAt: null },
        { $set: { fannedOutAt: now } },
      );
      return batch.length;
    });
  }

  claim(options: ClaimOptions): Promise<Delivery[]> {
    const { endpoint, owner, limit } = options;
    return this.guard(async () => {
      const { events, deliveries } = await this.collections();
      const now = new Date(options.now);
      const candidates = await deliveries
        .find(
          { endpoint, status: 'pending', nextAttemptAt: { $lte: now }, ...leaseFree(now) },
          { sort: { sequence: 1 }, limit: limit * 4 },
        )
        .toArray();
      const claimed: DeliveryDocument[] = [];
      const users = new Set<string>();
      for (const candidate of candidates) {
        if (claimed.length >= limit) break;
        // Only a user's earliest candidate can pass the checks below.
        if (users.has(candidate.userId)) continue;
        users.add(candidate.userId);
        const unfannedEarlier = await events.findOne(
          { userId: candidate.userId, _id: { $lt: candidate.sequence }, fannedOutAt: null },
          { projection: { _id: 1 } },
        );
        if (unfannedEarlier) continue;
        const pendingEarlier = await deliveries.findOne(
          {
            endpoint,
            userId: candidate.userId,
            status: 'pending',
            sequence: { $lt: candidate.sequence },
          },
          { projection: { _id: 1 } },
        );
        if (pendingEarlier) continue;
        const leased = await deliveries.findOneAndUpdate(
          { _id: candidate._id, status: 'pending', ...leaseFree(now) },
          {
            $set: { leaseOwner: owner, leaseUntil: new Date(addMs(options.now, options.leaseMs)) },
            $inc: { attempts: 1 },
          },
          { returnDocument: 'after' },
        );
        if (leased) claimed.push(leased);
      }
      if (claimed.length === 0) return [];
      const docs = await events.find({ _id: { $in: claimed.map((d) => d.sequence) } }).toArray();
      const bySequence = new Map(docs.map((doc) => [doc._id, toEvent(doc)]));
      return claimed.flatMap((doc) => {
        const event = bySequence.get(doc.sequence);
        return event ? [{ ...toDelivery(doc), event }] : [];
      });
    });
  }

  complete(key: DeliveryKey, options: { owner: string; now: string }): Promise<boolean> {
    return this.settle(key, options.owner, {
      status: 'delivered',
      deliveredAt: new Date(options.now),
      lastError: null,
    });
  }

  fail(key: DeliveryKey, options: FailOptions): Promise<boolean> {
    const lastError = clipError(options.error);
    return this.settle(
      key,
      options.owner,
      options.retryAt === undefined
        ? { status: 'dead', lastError }
        : { status: 'pending', nextAttemptAt: new Date(options.retryAt), lastError },
    );
  }

  list(filter: EventFilter): Promise<EventListing[]> {
    return this.guard(async () => {
      const { events } = await this.collections();
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
        ...(Object.keys(wanted).length > 0
          ? [{ $match: { deliveries: { $elemMatch: wanted } } }]
          : []),
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
    });
  }

  redeliver(options: RedeliverOptions): Promise<number> {
    return this.guard(async () => {
      const { deliveries } = await this.collections();
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
    });
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.guard(async () => {
      const { events, deliveries, ticks } = await this.collections();
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
      await ticks.deleteMany({ tick: { $lt: before } });
      return purged;
    });
  }

  stats(): Promise<OutboxStats> {
    return this.guard(async () => {
      const { events, deliveries } = await this.collections();
      const [unfanned, pending, dead, oldestUnfanned, firstPending] = await Promise.all([
        events.countDocuments({ fannedOutAt: null }),
        deliveries.countDocuments({ status: 'pending' }),
        deliveries.countDocuments({ status: 'dead' }),
        events.findOne({ fannedOutAt: null }, { sort: { _id: 1 } }),
        deliveries.findOne({ status: 'pending' }, { sort: { sequence: 1 } }),
      ]);
      const oldestPending = firstPending
        ? await events.findOne({ _id: firstPending.sequence })
        : null;
      const times = [oldestUnfanned, oldestPending].flatMap((doc) =>
        doc ? [doc.occurredAt.toISOString()] : [],
      );
      return {
        unfannedEvents: unfanned,
        pendingDeliveries: pending,
        deadLetters: dead,
        oldestWaitingAt: times.sort()[0],
      };
    });
  }

  claimTick(claim: TickClaim): Promise<boolean> {
    return this.guard(async () => {
      const { ticks } = await this.collections();
      try {
        await ticks.insertOne({
          _id: `${claim.job} ${claim.tick}`,
          job: claim.job,
          tick: new Date(claim.tick),
          owner: claim.owner,
          claimedAt: new Date(claim.now),
        });
        return true;
      } catch (error) {
        if (isDuplicateKey(error)) return false;
        throw error;
      }
    });
  }

  private settle(
    key: DeliveryKey,
    owner: string,
    changes: Partial<DeliveryDocument>,
  ): Promise<boolean> {
    return this.guard(async () => {
      const { deliveries } = await this.collections();
      const result = await deliveries.updateOne(
        { _id: deliveryId(key.endpoint, key.sequence), leaseOwner: owner, status: 'pending' },
        { $set: { ...changes, leaseOwner: null, leaseUntil: null } },
      );
      return result.modifiedCount > 0;
    });
  }

  private async collections(): Promise<{
    events: Collection<EventDocument>;
    deliveries: Collection<DeliveryDocument>;
    ticks: Collection<TickDocument>;
  }> {
    const db = await this.database();
    return {
      events: db.collection<EventDocument>(OUTBOX_EVENTS),
      deliveries: db.collection<DeliveryDocument>(OUTBOX_DELIVERIES),
      ticks: db.collection<TickDocument>(CLOCK_TICKS),
    };
  }
}
