import { MongoServerError, type Db } from 'mongodb';
import type { MongoMigration } from '../mongo-migrator.ts';
import {
  CLOCK_TICKS,
  COUNTERS,
  EVENT_COUNTER,
  OUTBOX_DELIVERIES,
  OUTBOX_EVENTS,
  type CounterDocument,
} from '../mongo-schema.ts';

const NAMESPACE_NOT_FOUND = 26;

/**
 * The outbox's collections, created with their indexes up front: a transaction cannot create a
 * collection on servers before 4.4, and the counter document must exist before two writers race
 * to upsert it. Idempotent, like every Mongo migration.
 */
export const createOutbox: MongoMigration = {
  name: '0002-create-outbox',
  async up(db: Db) {
    await db.collection(OUTBOX_EVENTS).createIndexes([
      { key: { eventId: 1 }, name: 'outbox_events_event_id', unique: true },
      { key: { userId: 1, _id: 1 }, name: 'outbox_events_user_sequence' },
      { key: { fannedOutAt: 1, _id: 1 }, name: 'outbox_events_unfanned' },
      { key: { occurredAt: 1 }, name: 'outbox_events_occurred_at' },
    ]);
    await db.collection(OUTBOX_DELIVERIES).createIndexes([
      { key: { endpoint: 1, status: 1, sequence: 1 }, name: 'outbox_deliveries_due' },
      {
        key: { endpoint: 1, userId: 1, status: 1, sequence: 1 },
        name: 'outbox_deliveries_user',
      },
      { key: { sequence: 1 }, name: 'outbox_deliveries_event' },
    ]);
    await db.collection(CLOCK_TICKS).createIndex({ tick: 1 }, { name: 'clock_ticks_tick' });
    await db
      .collection<CounterDocument>(COUNTERS)
      .updateOne({ _id: EVENT_COUNTER }, { $setOnInsert: { value: 0 } }, { upsert: true });
  },
  async down(db: Db) {
    for (const name of [OUTBOX_EVENTS, OUTBOX_DELIVERIES, CLOCK_TICKS]) {
      try {
        await db.collection(name).drop();
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND)) throw error;
      }
    }
    await db.collection<CounterDocument>(COUNTERS).deleteOne({ _id: EVENT_COUNTER });
  },
};
