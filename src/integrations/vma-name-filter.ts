/**
 * The VMA's name filter (spec/integrations.md, VMA discovery): it keeps the VMs
 * whose name contains the filter, case-insensitively; a comma-separated filter
 * means any of its terms.
 */
import type { DiscoveredVm } from './replication-gateway.js';

/** The terms of a filter, as the VMA compares them (empty: no filter). */
export function vmaFilterTerms(filter: string | undefined): string[] {
  return (filter ?? '')
    .split(',')
    .map((term) => term.trim().toLowerCase())
    .filter((term) => term !== '');
}

/** Whether the VMA keeps `vm` under `filter`. */
export function vmaNameFilter(filter: string | undefined): (vm: DiscoveredVm) => boolean {
  const terms = vmaFilterTerms(filter);
  if (terms.length === 0) return () => true;
  return (vm) => {
    const name = vm.name.toLowerCase();
    return terms.some((term) => name.includes(term));
  };
}
