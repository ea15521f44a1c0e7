/**
 * The replication gateway ports: what the process manager and the job monitor
 * ask of the VMA (discovery, VMA-side job status) and of the OMA (start a job,
 * read its state). Implemented by the HTTP clients and by the built-in simulator
 * (spec/integrations.md).
 */
import type { ReplicationType } from '../domain/schedule-fields.js';

/** A disk as the VMA reports it; forwarded verbatim to the OMA. */
export interface DiscoveredDisk {
  id: string;
  label: string;
  path: string;
  vmdk_path: string;
  size_gb: number;
  capacity_bytes: number;
  datastore: string;
  provisioning_type: string;
  unit_number: number;
}

/** A network adapter as the VMA reports it; forwarded verbatim to the OMA. */
export interface DiscoveredNetwork {
  label: string;
  network_name: string;
  adapter_type: string;
  mac_address: string;
  connected: boolean;
  type: string;
}

/** A VM exactly as `POST /api/v1/discover` of the VMA describes it (snake_case: it is the wire shape). */
export interface DiscoveredVm {
  id: string;
  name: string;
  path: string;
  datacenter: string;
  power_state: string;
  guest_os: string;
  memory_mb: number;
  num_cpu: number;
  vmx_version: string;
  vmware_tools_status: string;
  vmware_tools_version: string;
  disks: DiscoveredDisk[];
  networks: DiscoveredNetwork[];
}

export interface DiscoveryRequest {
  vcenter: string;
  datacenter: string;
  /** Name filter: the VMA keeps VMs whose name contains it (case-insensitive, comma-separated list allowed). */
  filter?: string;
}

/** The VMA's view of a job (`GET /api/v1/status/{job_id}`). */
export interface VmaJobStatus {
  jobId: string;
  /** `running`, `completed` or `failed` per the spec; kept as the VMA sent it. */
  status: string;
  progressPercent: number;
  currentOperation: string | null;
  startTime: string | null;
  lastUpdate: string | null;
  vmPath: string | null;
}

/** The OMA's view of a job (`GET /api/v1/replications/{job_id}`). */
export interface OmaJobState {
  jobId: string;
  /** One of the statuses of domain/job-statuses.ts; kept as the OMA sent it. */
  status: string;
  progressPercent: number;
  errorMessage: string | null;
  startedAt: string | null;
  completedAt: string | null;
  updatedAt: string | null;
}

export interface VmaDiscovery {
  /**
   * Lists the VMs of a datacenter (narrowed by `filter`). Throws
   * MissingCredentialsError when no credentials are configured for the vCenter,
   * GatewayError when the VMA cannot answer.
   */
  discover(request: DiscoveryRequest): Promise<DiscoveredVm[]>;
  /** `'unknown'` when the VMA answers 404 (phantom rule 1). Throws GatewayError when unreachable. */
  jobStatus(jobId: string): Promise<VmaJobStatus | 'unknown'>;
}

/** What the scheduler asks the OMA to replicate; the OMA-specific settings come from configuration. */
export interface StartReplicationRequest {
  /** The VM as a fresh discovery just described it. */
  vm: DiscoveredVm;
  vcenterHost: string;
  datacenter: string;
  replicationType: ReplicationType;
  scheduleExecutionId: string;
  vmGroupId: string;
  /**
   * Sent as the `Idempotency-Key` header: the dispatch id, the same for every
   * send of one dispatch, so an OMA that honours it answers a repeat with the
   * job the first send created instead of making another. Absent: no header.
   */
  idempotencyKey?: string;
}

export type StartReplicationResult =
  | { kind: 'started'; jobId: string; status: string; progressPercent: number; startedAt: string | null; message: string }
  /**
   * OMA 409: the VM already has an active job (recorded as the `active_job` skip,
   * not a failure). `jobId`: the active job when the answer names it.
   */
  | { kind: 'active_job'; message: string; jobId: string | null }
  /** OMA 400 or another 4xx: the request was refused; no job exists. */
  | { kind: 'rejected'; status: number; message: string }
  /**
   * The request may have reached the OMA but no answer says what happened
   * (timeout, connection reset, 5xx, unreadable 2xx). A job may exist: the caller
   * reconciles by reading job state, never by repeating the creation blindly.
   */
  | { kind: 'unconfirmed'; reason: string };

export interface OmaReplication {
  /**
   * Never retried internally. Throws GatewayError (kind `unreachable`,
   * `requestMayHaveArrived: false`) only when the connection could not be made,
   * i.e. when no job can have been created.
   */
  startReplication(request: StartReplicationRequest): Promise<StartReplicationResult>;
  /** `'unknown'` when the OMA answers 404. Throws GatewayError when unreachable. */
  jobState(jobId: string): Promise<OmaJobState | 'unknown'>;
}
