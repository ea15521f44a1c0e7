/**
 * A folded state as plain JSON: deciders may keep Maps, Sets or Dates in their
 * state (an execution indexes its VMs in a Map), which JSON.stringify would
 * print as {} or lose; a value with a toJSON (an execution's persistent list of VMs)
 * is shown as what it serialises to.
 */
export function toPlainJson(value: unknown): unknown {
  if (value instanceof Map) return Object.fromEntries([...value].map(([key, item]) => [String(key), toPlainJson(item)]));
  if (value instanceof Set) return [...value].map(toPlainJson);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlainJson);
  if (hasToJson(value)) return toPlainJson(value.toJSON());
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, toPlainJson(item)]));
  return value;
}

function hasToJson(value: unknown): value is { toJSON(): unknown } {
  return value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function';
}
