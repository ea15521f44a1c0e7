/** The fields and enumerations of a schedule as spec/domain.md defines them. */

export const SCHEDULE_TYPES = ['cron', 'chain'] as const;
export const CHAIN_TRIGGERS = ['success', 'completion'] as const;
export const REPLICATION_TYPES = ['auto', 'full', 'incremental'] as const;
export const CATCHUP_POLICIES = ['latest', 'all', 'skip'] as const;

export type ScheduleType = (typeof SCHEDULE_TYPES)[number];
export type ChainTrigger = (typeof CHAIN_TRIGGERS)[number];
export type ReplicationType = (typeof REPLICATION_TYPES)[number];
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];

/** Every user-settable field of a schedule, with defaults applied. */
export interface ScheduleSettings {
  name: string;
  description: string | null;
  schedule_type: ScheduleType;
  cron_expression: string | null;
  timezone: string;
  chain_parent_schedule_id: string | null;
  chain_delay_minutes: number;
  chain_trigger_on: ChainTrigger;
  replication_type: ReplicationType;
  max_concurrent_jobs: number;
  retry_attempts: number;
  retry_delay_minutes: number;
  enabled: boolean;
  skip_if_running: boolean;
  catchup_policy: CatchupPolicy;
  catchup_window_minutes: number;
  jitter_seconds: number;
}

export const SCHEDULE_DEFAULTS: Omit<ScheduleSettings, 'name'> = {
  description: null,
  schedule_type: 'cron',
  cron_expression: null,
  timezone: 'UTC',
  chain_parent_schedule_id: null,
  chain_delay_minutes: 0,
  chain_trigger_on: 'success',
  replication_type: 'auto',
  max_concurrent_jobs: 1,
  retry_attempts: 3,
  retry_delay_minutes: 30,
  enabled: true,
  skip_if_running: true,
  catchup_policy: 'latest',
  catchup_window_minutes: 60,
  jitter_seconds: 0,
};

/** Inclusive integer ranges of spec/domain.md. */
export const SCHEDULE_RANGES = {
  chain_delay_minutes: [0, 10080],
  max_concurrent_jobs: [1, 1000],
  retry_attempts: [0, 10],
  retry_delay_minutes: [0, 1440],
  catchup_window_minutes: [0, 525600],
  jitter_seconds: [0, 3600],
} as const satisfies Record<string, readonly [number, number]>;

export const NAME_MAX_LENGTH = 255;
export const DESCRIPTION_MAX_LENGTH = 4000;
