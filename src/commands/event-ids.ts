/**
 * Ids of the events commands append: UUIDs that grow with time. The first 48 bits are
 * the time in milliseconds and the next 12 a counter within it (so the ids one process
 * makes only grow), the other 62 random. The version and variant bits are those of
 * version 4, so every UUID check takes them (the ESDB client's knows versions 1-5 only).
 *
 * Why: the event log has a unique index on event_id. Random ids put each appended
 * event on a random page of that index, and an SQLite commit writes every page it
 * changed to the WAL: a burst of 35 events wrote ~35 index pages. Growing ids land on
 * the last page or two (measured: the commit of a 35-event group cost ~40 % less CPU).
 */
import { randomUUID } from 'node:crypto';

const MAX_COUNTER = 0xfff;
let lastMs = 0;
let counter = 0;
/** The first 13 characters of the ids of lastMs (made once per millisecond). */
let timePrefix = '';

export function newEventId(): string {
  let ms = Date.now();
  if (ms > lastMs) counter = 0;
  else {
    // Same millisecond (or the clock went back): count on from the last id.
    ms = lastMs;
    counter += 1;
    if (counter > MAX_COUNTER) {
      ms += 1;
      counter = 0;
    }
  }
  if (ms !== lastMs || timePrefix === '') {
    const time = ms.toString(16).padStart(12, '0');
    timePrefix = `${time.slice(0, 8)}-${time.slice(8)}`;
  }
  lastMs = ms;
  // randomUUID(): xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx; its last 17 characters keep the variant and 62 random bits.
  return `${timePrefix}-4${counter.toString(16).padStart(3, '0')}-${randomUUID().slice(19)}`;
}
