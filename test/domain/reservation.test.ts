import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ReservationEvent } from '../../src/domain/events.js';
import { reservationDecider, reservationKey, reservationStreamId, vmIdentityValue, type ReservationCommand } from '../../src/domain/reservation.js';
import { given } from './given-when-then.js';

const AT = '2026-05-01T10:00:00.000Z';
const reserve = (owner_id: string, holder_is_stale = false, value = 'Nightly'): ReservationCommand => ({
  type: 'Reserve',
  kind: 'schedule-name',
  value,
  owner_id,
  holder_is_stale,
  at: AT,
  actor: 'alice',
});
const releaseCmd = (owner_id: string): ReservationCommand => ({ type: 'Release', kind: 'schedule-name', value: 'Nightly', owner_id, at: AT, actor: 'alice' });
const reserved = (owner_id: string, value = 'Nightly'): ReservationEvent => ({ type: 'NameReserved', data: { kind: 'schedule-name', value, owner_id, at: AT } });
const released = (owner_id: string, value = 'Nightly'): ReservationEvent => ({ type: 'NameReleased', data: { kind: 'schedule-name', value, owner_id, at: AT } });

describe('Reserve', () => {
  it('reserves a free value', () => {
    given(reservationDecider).when(reserve('s1')).then([reserved('s1')]);
    given(reservationDecider, [reserved('s0'), released('s0')]).when(reserve('s1')).then([reserved('s1')]);
  });

  it('held by the same owner: no events', () => {
    given(reservationDecider, [reserved('s1')]).when(reserve('s1')).then([]);
  });

  it('held by another owner: Conflict naming the kind', () => {
    const error = given(reservationDecider, [reserved('s0')]).when(reserve('s1')).thenThrows('Conflict', 'already taken');
    assert.match(error.message, /schedule name "Nightly"/);
    given(reservationDecider, [{ type: 'NameReserved', data: { kind: 'group-name', value: 'Web', owner_id: 'g0', at: AT } }])
      .when({ type: 'Reserve', kind: 'group-name', value: 'web', owner_id: 'g1', holder_is_stale: false, at: AT, actor: 'a' })
      .thenThrows('Conflict', 'machine group name "web" is already taken');
  });

  it('held by a stale owner: releases it for the old holder, then reserves', () => {
    given(reservationDecider, [reserved('s0', 'NIGHTLY')])
      .when(reserve('s1', true))
      .then([released('s0', 'NIGHTLY'), reserved('s1')]);
    given(reservationDecider, [reserved('s0')])
      .when(reserve('s1', true))
      .thenState((s) => assert.deepEqual(s, { holder: 's1', value: 'Nightly' }));
  });

  it('refuses an empty value', () => {
    given(reservationDecider).when(reserve('s1', false, '')).thenThrows('ValidationError', '/value');
  });
});

describe('Release', () => {
  it('only the holder releases', () => {
    given(reservationDecider, [reserved('s1')]).when(releaseCmd('s1')).then([released('s1')]);
    given(reservationDecider, [reserved('s1')]).when(releaseCmd('s2')).then([]);
    given(reservationDecider).when(releaseCmd('s1')).then([]);
  });

  it('frees the value', () => {
    given(reservationDecider, [reserved('s1')])
      .when(releaseCmd('s1'))
      .thenState((s) => assert.deepEqual(s, { holder: null, value: null }));
  });
});

describe('reservationStreamId', () => {
  it('keeps simple keys readable', () => {
    assert.equal(reservationStreamId('schedule-name', 'nightly-backup_2.0'), 'reservation-schedule-name-nightly-backup_2.0');
    assert.equal(reservationStreamId('group-name', reservationKey('group-name', '  Web ')), 'reservation-group-name-web');
  });

  it('encodes keys with other characters, distinct from any plain key', () => {
    const spaced = reservationStreamId('schedule-name', 'nightly backup');
    assert.equal(spaced, `reservation-schedule-name-X${Buffer.from('nightly backup').toString('hex')}`);
    assert.match(spaced, /^[A-Za-z0-9._-]+$/);
    assert.notEqual(reservationStreamId('schedule-name', 'ab'), reservationStreamId('schedule-name', 'a b'));
    const unicode = reservationStreamId('schedule-name', 'sauvegarde été');
    assert.match(unicode, /^reservation-schedule-name-X[0-9a-f]+$/);
  });

  it('hashes long keys so ids stay within 255 characters', () => {
    const long = 'a'.repeat(151);
    const id = reservationStreamId('schedule-name', long);
    assert.match(id, /^reservation-schedule-name-H[0-9a-f]{64}$/);
    assert.ok(id.length <= 255);
    const longUnicode = reservationStreamId('group-name', 'ü'.repeat(255));
    assert.ok(longUnicode.length <= 255);
    assert.equal(reservationStreamId('schedule-name', 'a'.repeat(150)), `reservation-schedule-name-${'a'.repeat(150)}`);
    assert.equal(id, reservationStreamId('schedule-name', long), 'deterministic');
    assert.notEqual(id, reservationStreamId('schedule-name', 'a'.repeat(152)));
  });

  it('builds VM identity values from vCenter host and VMware id', () => {
    const value = vmIdentityValue(' VCenter.Example.com ', 'vm-101');
    assert.equal(value, 'vcenter.example.com/vm-101');
    assert.equal(reservationKey('vm-identity', value), value);
    assert.ok(reservationStreamId('vm-identity', value).length <= 255);
  });
});
