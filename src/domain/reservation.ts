/**
 * Uniqueness reservations (streams reservation-{kind}-{key}): one stream per
 * normalized value (a schedule name, a group name, a VM identity) says who
 * holds it. The command handler appends to it before creating or renaming the
 * owner, and tells the decider whether the current holder is stale (deleted,
 * or renamed away without releasing).
 */
import { createHash } from 'node:crypto';
import { DomainError, type Decider } from './decider.js';
import type { ReservationEvent, ReservationKind } from './events.js';
import { Problems, checkText, normalizeName, type CommandMeta } from './field-rules.js';

export interface ReservationState {
  holder: string | null;
  value: string | null;
}

export type Reserve = CommandMeta & {
  type: 'Reserve';
  kind: ReservationKind;
  value: string;
  owner_id: string;
  /** The handler found the current holder gone (deleted, or no longer using the value). */
  holder_is_stale: boolean;
};
export type Release = CommandMeta & { type: 'Release'; kind: ReservationKind; value: string; owner_id: string };
export type ReservationCommand = Reserve | Release;

const KIND_LABELS: Record<ReservationKind, string> = {
  'schedule-name': 'schedule name',
  'group-name': 'machine group name',
  'vm-identity': 'VM',
};

/** The value a VM's identity is reserved under: vCenter host (case-insensitive) and VMware id. */
export function vmIdentityValue(vcenterHost: string, vmwareVmId: string): string {
  return `${vcenterHost.trim().toLowerCase()}/${vmwareVmId.trim()}`;
}

/** The key of a value: names compare case-insensitively, VM identities as built by vmIdentityValue. */
export function reservationKey(kind: ReservationKind, value: string): string {
  return kind === 'vm-identity' ? value : normalizeName(value);
}

const MAX_PLAIN_KEY = 150;

/**
 * `reservation-${kind}-${key}` for a normalized key. A key longer than 150
 * characters or with characters outside [a-z0-9._-] is encoded so the id stays
 * short and safe: `X` + hex of its UTF-8 when that fits in 150 characters,
 * else `H` + its SHA-256 in hex. The capital letter cannot start a plain key,
 * so an encoded key never equals a plain one.
 */
export function reservationStreamId(kind: ReservationKind, key: string): string {
  return `reservation-${kind}-${encodeKey(key)}`;
}

function encodeKey(key: string): string {
  if (key.length > 0 && key.length <= MAX_PLAIN_KEY && /^[a-z0-9._-]+$/.test(key)) return key;
  const hex = Buffer.from(key, 'utf8').toString('hex');
  if (hex.length + 1 <= MAX_PLAIN_KEY) return `X${hex}`;
  return `H${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

function decide(command: ReservationCommand, state: ReservationState): ReservationEvent[] {
  const p = new Problems();
  checkText(p, '/value', command.value, 4000);
  checkText(p, '/owner_id', command.owner_id, 255);
  p.throwIfAny('reservation');
  const { kind, value, owner_id, at } = command;
  switch (command.type) {
    case 'Reserve': {
      if (state.holder === owner_id) return [];
      if (state.holder === null) return [{ type: 'NameReserved', data: { kind, value, owner_id, at } }];
      if (!command.holder_is_stale) {
        const label = KIND_LABELS[kind];
        throw new DomainError('Conflict', `${label} "${value}" is already taken`, [
          { path: kind === 'vm-identity' ? '/vmware_vm_id' : '/name', message: `${label} already taken` },
        ]);
      }
      return [
        { type: 'NameReleased', data: { kind, value: state.value ?? value, owner_id: state.holder, at } },
        { type: 'NameReserved', data: { kind, value, owner_id, at } },
      ];
    }
    case 'Release': {
      if (state.holder !== owner_id) return [];
      return [{ type: 'NameReleased', data: { kind, value: state.value ?? value, owner_id, at } }];
    }
  }
}

function evolve(state: ReservationState, event: ReservationEvent): ReservationState {
  switch (event.type) {
    case 'NameReserved':
      return { holder: event.data.owner_id, value: event.data.value };
    case 'NameReleased':
      return state.holder === event.data.owner_id ? { holder: null, value: null } : state;
  }
}

export const reservationDecider: Decider<ReservationCommand, ReservationEvent, ReservationState> = {
  initialState: { holder: null, value: null },
  evolve,
  decide,
};
