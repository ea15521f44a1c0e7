/**
 * Picks the replication gateway from configuration: the VMA and OMA HTTP
 * clients when both URLs are set, else the built-in simulator (whose banner the
 * service must log).
 */
import type { Clock } from '../clock.js';
import type { IntegrationConfig } from './integration-config.js';
import { coalesceDiscoveries } from './coalesced-discovery.js';
import { createOmaReplicationClient } from './oma-replication-client.js';
import type { OmaReplication, VmaDiscovery } from './replication-gateway.js';
import type { SimulatedInventoryVm } from './simulated-inventory.js';
import { createSimulator, simulationBanner, type ReplicationSimulator } from './simulator.js';
import { createVmaDiscoveryClient } from './vma-discovery-client.js';

export type ReplicationGateway =
  | { mode: 'appliances'; discovery: VmaDiscovery; replication: OmaReplication }
  | { mode: 'simulator'; discovery: VmaDiscovery; replication: OmaReplication; simulator: ReplicationSimulator; banner: string };

export function openReplicationGateway(
  config: IntegrationConfig,
  dependencies: { clock: Clock; inventory: () => Promise<SimulatedInventoryVm[]>; random?: () => number },
): ReplicationGateway {
  const { omaApiUrl, vmaApiUrl, omaApiToken, omaOsseaConfigId } = config;
  if (omaApiUrl !== null && vmaApiUrl !== null && omaApiToken !== null && omaOsseaConfigId !== null) {
    return {
      mode: 'appliances',
      discovery: coalesceDiscoveries(
        createVmaDiscoveryClient({ baseUrl: vmaApiUrl, vcenterCredentials: config.vcenterCredentials, requestTimeoutMs: config.requestTimeoutMs }),
      ),
      replication: createOmaReplicationClient({
        baseUrl: omaApiUrl,
        token: omaApiToken,
        target: { osseaConfigId: omaOsseaConfigId, targetNetwork: config.omaTargetNetwork },
        requestTimeoutMs: config.requestTimeoutMs,
        createTimeoutMs: config.createTimeoutMs,
      }),
    };
  }
  // loadIntegrationConfig refuses half a configuration, so reaching here means "none".
  if (omaApiUrl !== null || vmaApiUrl !== null) throw new Error('incomplete appliance configuration: load it with loadIntegrationConfig');
  const simulator = createSimulator({ clock: dependencies.clock, inventory: dependencies.inventory, ...config.simulator, ...(dependencies.random ? { random: dependencies.random } : {}) });
  return { mode: 'simulator', discovery: simulator, replication: simulator, simulator, banner: simulationBanner(config.simulator) };
}
