/**
 * Choosing the VM to replicate from a discovery answer. Discovery filters by
 * substring, so the answer may hold `web-1`, `web-10` and `old-web-1`: only an
 * exact, case-sensitive name match counts (old bug: substring + `vms[0]`).
 */
import type { DiscoveredVm } from './replication-gateway.js';

export type VmNameMatch =
  | { kind: 'found'; vm: DiscoveredVm }
  | { kind: 'not_found' }
  /** Several VMs carry exactly this name: replicating any one of them could be the wrong one. */
  | { kind: 'ambiguous'; candidates: DiscoveredVm[] };

export function matchVmByName(vms: readonly DiscoveredVm[], name: string): VmNameMatch {
  const exact = vms.filter((vm) => vm.name === name);
  const [only] = exact;
  if (only === undefined) return { kind: 'not_found' };
  return exact.length === 1 ? { kind: 'found', vm: only } : { kind: 'ambiguous', candidates: exact };
}

/** The one VM named exactly `name`, or null when none or several are (see `matchVmByName` for which). */
export function pickExactVm(vms: readonly DiscoveredVm[], name: string): DiscoveredVm | null {
  const match = matchVmByName(vms, name);
  return match.kind === 'found' ? match.vm : null;
}

/** True when more than one VM carries exactly `name`: the caller reports ambiguity rather than "not found". */
export function isAmbiguousVmName(vms: readonly DiscoveredVm[], name: string): boolean {
  return matchVmByName(vms, name).kind === 'ambiguous';
}
