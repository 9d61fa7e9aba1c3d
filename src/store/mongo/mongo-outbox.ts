import { MongoBulkWriteError, type Db } from 'mongodb';
import type {
  ClaimOptions,
  Delivery,
  DeliveryKey,
  EventFilter,
  EventListing,
  FailOptions,
  Outbox,
  OutboxStats,
  PurgeOptions,
  RedeliverOptions,
} from '../../users/outbox.ts';
import { clipError, leaseUntil } from '../../users/outbox.ts';
import {
  listEvents,
  outboxStats,
  purgeSettled,
  redeliverDead,
  type OutboxCollections,
} from './mongo-outbox-upkeep.ts';
import { toDelivery, toEvent } from './mongo-outbox-rows.ts';
import { claimPipeline, leaseFilter } from './mongo-outbox-claim.ts';
import {
  OUTBOX_DELIVERIES,
  OUTBOX_EVENTS,
  type DeliveryDocument,
  type EventDocument,
} from './mongo-schema.ts';

type Guard = <T>(operation: () => Promise<T>) => Promise<T>;

const deliveryId = (endpoint: string, sequence: number) => `${sequence} ${endpoint}`;

/**
 * The Outbox on MongoDB. A claim reads the unblocked due deliveries (claimPipeline), then leases
 * each by findOneAndUpdate, matching only while it is still due and unleased, so two workers
 * never hold the same delivery. Fan-out writes
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
        .aggregate<{ _id: string }>(claimPipeline({ endpoint, now, limit }))
        .toArray();
      const claimed: DeliveryDocument[] = [];
      for (const candidate of candidates) {
        const leased = await deliveries.findOneAndUpdate(
          leaseFilter(candidate._id, now),
          {
            $set: { leaseOwner: owner, leaseUntil: new Date(leaseUntil(options)) },
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
    return this.guard(async () => listEvents(await this.collections(), filter));
  }

  redeliver(options: RedeliverOptions): Promise<number> {
    return this.guard(async () => redeliverDead(await this.collections(), options));
  }

  purge(options: PurgeOptions): Promise<number> {
    return this.guard(async () => purgeSettled(await this.collections(), options));
  }

  stats(): Promise<OutboxStats> {
    return this.guard(async () => outboxStats(await this.collections()));
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

  private async collections(): Promise<OutboxCollections> {
    const db = await this.database();
    return {
      events: db.collection<EventDocument>(OUTBOX_EVENTS),
      deliveries: db.collection<DeliveryDocument>(OUTBOX_DELIVERIES),
    };
  }
}
