/**
 * VMA discoveries asked for together go to the VMA as one request. A dispatch
 * discovers its VM afresh by name (spec/domain.md, Execution step 4), so a wave of
 * 1,000 dispatches made 1,000 discoveries, each of which makes the VMA list the
 * datacenter from vCenter. The VMA's filter takes a comma-separated list, so the
 * filters asked for in one turn of the event loop for the same vCenter and
 * datacenter are sent as one (up to MAX_TERMS names and MAX_FILTER_CHARS), and each
 * caller gets back what the VMA would have answered its own filter: the VMs its
 * filter keeps (vma-name-filter.ts). A failure fails every caller of that request.
 */
import type { DiscoveredVm, DiscoveryRequest, VmaDiscovery } from './replication-gateway.js';
import { vmaFilterTerms, vmaNameFilter } from './vma-name-filter.js';

/** Names in one request at most: a VMA answer holds every VM whose name contains one. */
const MAX_TERMS = 100;
const MAX_FILTER_CHARS = 4000;

interface Waiter {
  filter: string;
  resolve(vms: DiscoveredVm[]): void;
  reject(error: unknown): void;
}

interface Batch {
  vcenter: string;
  datacenter: string;
  waiters: Waiter[];
  terms: Set<string>;
  chars: number;
}

/** Whether `terms` can join the batch (a batch always takes its first caller, however long). */
function fits(batch: Batch, terms: readonly string[]): boolean {
  const added = terms.filter((term) => !batch.terms.has(term));
  const chars = added.reduce((sum, term) => sum + term.length + 1, 0);
  return batch.terms.size + added.length <= MAX_TERMS && batch.chars + chars <= MAX_FILTER_CHARS;
}

export function coalesceDiscoveries(discovery: VmaDiscovery): VmaDiscovery {
  /** Batches filling in this turn, by vCenter and datacenter. */
  const filling = new Map<string, Batch>();
  let sendScheduled = false;

  const send = (batch: Batch): void => {
    const filter = [...batch.terms].join(',');
    discovery.discover({ vcenter: batch.vcenter, datacenter: batch.datacenter, filter }).then(
      (vms) => {
        for (const waiter of batch.waiters) waiter.resolve(vms.filter(vmaNameFilter(waiter.filter)));
      },
      (error: unknown) => {
        for (const waiter of batch.waiters) waiter.reject(error);
      },
    );
  };

  const sendAll = (): void => {
    sendScheduled = false;
    const batches = [...filling.values()];
    filling.clear();
    for (const batch of batches) send(batch);
  };

  return {
    discover(request: DiscoveryRequest): Promise<DiscoveredVm[]> {
      const terms = vmaFilterTerms(request.filter);
      // Without a filter the answer is the whole datacenter: nothing to share.
      if (request.filter === undefined || terms.length === 0) return discovery.discover(request);
      return new Promise<DiscoveredVm[]>((resolve, reject) => {
        const key = `${request.vcenter}\u0000${request.datacenter}`;
        let batch = filling.get(key);
        if (batch !== undefined && !fits(batch, terms)) {
          filling.delete(key);
          send(batch);
          batch = undefined;
        }
        if (batch === undefined) {
          batch = { vcenter: request.vcenter, datacenter: request.datacenter, waiters: [], terms: new Set(), chars: 0 };
          filling.set(key, batch);
        }
        for (const term of terms) {
          if (batch.terms.has(term)) continue;
          batch.terms.add(term);
          batch.chars += term.length + 1;
        }
        batch.waiters.push({ filter: request.filter ?? '', resolve, reject });
        if (!sendScheduled) {
          sendScheduled = true;
          // After this turn's microtasks: the dispatches released together have all asked by then.
          setImmediate(sendAll);
        }
      });
    },
    jobStatus: (jobId) => discovery.jobStatus(jobId),
  };
}
