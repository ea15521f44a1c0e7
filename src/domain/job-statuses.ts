/** Replication job statuses as the OMA reports them (spec/integrations.md). */
export const ACTIVE_JOB_STATUSES = ['pending', 'initializing', 'analyzing', 'provisioning', 'attaching', 'configuring', 'ready_for_sync', 'replicating'] as const;
export const FAILED_JOB_STATUSES = ['failed', 'replication_failed', 'cancelled'] as const;
export const SUCCEEDED_JOB_STATUS = 'completed';
