import type { Document, Filter } from 'mongodb';
import { OUTBOX_DELIVERIES, OUTBOX_EVENTS, type DeliveryDocument } from './mongo-schema.ts';

/** A lease nobody holds, or one that ran out. */
export const leaseFree = (now: Date): Filter<DeliveryDocument> => ({
  $or: [{ leaseUntil: null }, { leaseUntil: { $lte: now } }],
});

/**
 * The deliveries a claim may lease, in sequence order: due, unleased, and not blocked, that is
 * no earlier delivery of the same user to this endpoint is still pending (waiting to retry or
 * in flight) and no earlier event of the user is still unfanned. Blocked deliveries are dropped
 * by the query itself, before `$limit`, as the SQL outbox's NOT EXISTS does: a limit taken
 * first could be filled by one blocked user's backlog and stall every other user. Only a user's
 * earliest pending delivery can pass, so the result has at most one per user.
 *
 * `$lookup` with `let`/`pipeline` exists since MongoDB 3.6. Its look-ups use the
 * `outbox_deliveries_user` and `outbox_events_user_sequence` indexes: the plain fields and the
 * `$eq` on the user always, the `$lt` on the sequence too from 5.0 on.
 * https://www.mongodb.com/docs/manual/reference/operator/query/expr/
 */
export function claimPipeline(options: { endpoint: string; now: Date; limit: number }): Document[] {
  const { endpoint, now, limit } = options;
  const earlier = { userId: '$userId', sequence: '$sequence' };
  return [
    {
      $match: {
        endpoint,
        status: 'pending',
        nextAttemptAt: { $lte: now },
        ...leaseFree(now),
      },
    },
    { $sort: { sequence: 1 } },
    {
      $lookup: {
        from: OUTBOX_DELIVERIES,
        let: earlier,
        pipeline: [
          {
            $match: {
              endpoint,
              status: 'pending',
              $expr: {
                $and: [{ $eq: ['$userId', '$$userId'] }, { $lt: ['$sequence', '$$sequence'] }],
              },
            },
          },
          { $limit: 1 },
          { $project: { _id: 1 } },
        ],
        as: 'pendingEarlier',
      },
    },
    { $match: { pendingEarlier: { $size: 0 } } },
    {
      $lookup: {
        from: OUTBOX_EVENTS,
        let: earlier,
        pipeline: [
          {
            $match: {
              fannedOutAt: null,
              $expr: {
                $and: [{ $eq: ['$userId', '$$userId'] }, { $lt: ['$_id', '$$sequence'] }],
              },
            },
          },
          { $limit: 1 },
          { $project: { _id: 1 } },
        ],
        as: 'unfannedEarlier',
      },
    },
    { $match: { unfannedEarlier: { $size: 0 } } },
    { $limit: limit },
    { $project: { _id: 1 } },
  ];
}

/**
 * Leases one candidate. Every condition that made it a candidate is checked again in the same
 * atomic write: another worker may have leased it, or failed it and set a later
 * `nextAttemptAt`, since the candidates were read; a retry must not run early.
 */
export function leaseFilter(id: string, now: Date): Filter<DeliveryDocument> {
  return { _id: id, status: 'pending', nextAttemptAt: { $lte: now }, ...leaseFree(now) };
}
