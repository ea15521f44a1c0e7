/**
 * Uniqueness through reservation streams: a name (or a VM identity) is owned by
 * the aggregate that reserved it; a rename reserves the new value, then releases
 * the old one.
 */
import { DomainError } from '../domain/decider.js';
import type { ReservationKind } from '../domain/events.js';
import { reservationDecider, reservationKey, reservationStreamId } from '../domain/reservation.js';
import type { EventStore, Position } from '../eventstore/event-store.js';
import { assumeNewStream } from './aggregate-cache.js';
import type { CommandContext } from './command-context.js';
import { runDecider } from './run-decider.js';

/**
 * A reservation whose owner never came to exist is taken over only after this
 * long, so a create between its reserve and its append is never robbed.
 */
const ORPHAN_GRACE_MS = 30_000;

export interface Reservation {
  kind: ReservationKind;
  /** The value as the user wrote it (kept for the audit trail); its key (reservationKey) must be unique. */
  value: string;
  ownerId: string;
  /** What to tell the user when someone else holds it, e.g. `a schedule named "nightly"`, and the field at fault. */
  takenMessage: string;
  field: string;
}

/** Tells whether the holder still owns the value (exists, live, and still carries it). */
export type HolderCheck = (holderId: string, key: string) => Promise<boolean>;

export async function reserve(store: EventStore, reservation: Reservation, holderStillOwns: HolderCheck, context: CommandContext): Promise<Position | null> {
  const key = reservationKey(reservation.kind, reservation.value);
  const streamId = reservationStreamId(reservation.kind, key);
  // Most values are new: decide without reading the stream first. When it exists after
  // all (a value taken or given back before), the append's `no_stream` fails and the
  // command reads the stream and decides again.
  assumeNewStream(store, streamId, reservationDecider);
  const result = await runDecider(
    store,
    streamId,
    reservationDecider,
    async (state) => {
      let stale = false;
      if (state.holder !== null && state.holder !== reservation.ownerId) {
        const owns = await holderStillOwns(state.holder, key);
        if (!owns) {
          const [last] = await store.readStream(streamId, { direction: 'backwards', maxCount: 1 });
          const reservedAt = Date.parse(last?.metadata.timestamp ?? '');
          stale = !(Date.parse(context.at) - reservedAt < ORPHAN_GRACE_MS);
        }
      }
      return { type: 'Reserve' as const, kind: reservation.kind, value: reservation.value, owner_id: reservation.ownerId, holder_is_stale: stale, at: context.at, actor: context.actor };
    },
    context,
  ).catch((error: unknown) => {
    if (error instanceof DomainError && error.kind === 'Conflict') {
      throw new DomainError('Conflict', `${reservation.takenMessage} already exists`, [{ path: reservation.field, message: 'already taken' }]);
    }
    throw error;
  });
  return result.position;
}

export async function release(store: EventStore, reservation: Reservation, context: CommandContext): Promise<Position | null> {
  const result = await runDecider(
    store,
    reservationStreamId(reservation.kind, reservationKey(reservation.kind, reservation.value)),
    reservationDecider,
    () => ({ type: 'Release' as const, kind: reservation.kind, value: reservation.value, owner_id: reservation.ownerId, at: context.at, actor: context.actor }),
    context,
  );
  return result.position;
}

/**
 * Reserves, runs `work`, and gives the reservation back if `work` fails,
 * so a refused command leaves no name taken.
 */
export async function withReservation<T>(store: EventStore, reservation: Reservation, holderStillOwns: HolderCheck, context: CommandContext, work: () => Promise<T>): Promise<T> {
  await reserve(store, reservation, holderStillOwns, context);
  try {
    return await work();
  } catch (error) {
    await release(store, reservation, context).catch(() => undefined);
    throw error;
  }
}
