/**
 * An in-process double of an EventStoreDB node: a real gRPC server on a loopback port
 * serving the Streams service from the definitions inside @eventstore/db-client, so
 * the real client (and the adapter on it) talks to it over a real connection with
 * `esdb://127.0.0.1:PORT?tls=false`.
 *
 * Implemented: Streams.Append, Streams.Read (streams, $all, subscriptions to $all) and
 * ServerFeatures.GetSupportedMethods, which leaves BatchAppend out so the client uses
 * Append. Everything else (BatchAppend, Delete, Tombstone, subscriptions to a stream,
 * filtered reads, and every other service: gossip, persistent subscriptions,
 * projections, users, operations) answers UNIMPLEMENTED, so a new use of the client
 * fails loudly instead of passing against a double that does not know it.
 */
import grpc from '@grpc/grpc-js';
import serverFeaturesGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import serverFeaturesPb from '@eventstore/db-client/generated/serverfeatures_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import { appendHandler } from './append.js';
import { EventLog } from './event-log.js';
import { AppendFaults } from './faults.js';
import { statusError, unimplemented, type StatusError } from './messages.js';
import { answerRead, type ReadCall } from './read.js';
import { startSubscription, type LiveSubscription } from './subscribe.js';

export interface EsdbDoubleOptions {
  /**
   * After every this many appends, the node writes a `$statsCollected` event to its
   * stats stream, as a real node does periodically; default: never. System events of a
   * fresh node are always there.
   */
  systemEventEvery?: number;
}

export interface EsdbDouble {
  /** The connection string for the client: `esdb://127.0.0.1:PORT?tls=false`. */
  readonly url: string;
  readonly port: number;
  readonly log: EventLog;
  /** Failures to answer the next appends with. */
  readonly faults: AppendFaults;
  /** Append calls received (each attempt of a retried append counts). */
  readonly appendCalls: number;
  /** Subscriptions being served now. */
  readonly liveSubscriptions: number;
  /**
   * Ends every live subscription from the server side with this status (default
   * Unavailable, as on a node shutting down; null: an end without error); returns how many.
   */
  dropSubscriptions(error?: StatusError | null): number;
  /** Stops the server and every call on it. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const SERVER_VERSION = '23.10.0 (in-process double)';
/** What a fresh node has written before any client appends. */
const FRESH_NODE_EVENTS = [
  { streamId: '$$$scavenges', type: '$metadata', data: { $maxAge: 2_592_000 } },
  { streamId: '$settings', type: '$settings', data: { $userStreamAcl: {}, $systemStreamAcl: {} } },
  { streamId: '$projections-$all', type: '$ProjectionsInitialized', data: {} },
];

export async function startEsdbDouble(options: EsdbDoubleOptions = {}): Promise<EsdbDouble> {
  const log = new EventLog({ systemEventEvery: options.systemEventEvery ?? 0, statsStream: `$stats-${HOST}` });
  for (const { streamId, type, data } of FRESH_NODE_EVENTS) log.appendSystemEvent(streamId, type, data);
  let port = 0;
  const faults = new AppendFaults(() => ({ host: HOST, port }));
  const live = new Set<LiveSubscription>();
  let appendCalls = 0;
  const append = appendHandler(log, faults);

  const server = new grpc.Server();
  server.addService(streamsGrpc.StreamsService, {
    read(call: ReadCall) {
      const readOptions = call.request.getOptions();
      if (readOptions === undefined) return void call.emit('error', statusError(grpc.status.INVALID_ARGUMENT, 'read without options'));
      if (readOptions.getUuidOption()?.hasStructured()) return void call.emit('error', unimplemented('structured UUIDs'));
      if (readOptions.hasSubscription()) return startSubscription(log, call, readOptions, live);
      answerRead(log, call, readOptions).catch((error: unknown) => call.emit('error', statusError(grpc.status.INTERNAL, String(error))));
    },
    append(call, callback) {
      appendCalls += 1;
      append(call, callback);
    },
    batchAppend(call) {
      call.emit('error', unimplemented('Streams.BatchAppend (GetSupportedMethods leaves it out)'));
    },
    delete(_call, callback) {
      callback(unimplemented('Streams.Delete'));
    },
    tombstone(_call, callback) {
      callback(unimplemented('Streams.Tombstone'));
    },
  } satisfies streamsGrpc.IStreamsServer);
  server.addService(serverFeaturesGrpc.ServerFeaturesService, {
    getSupportedMethods(_call, callback) {
      const methods = [streamsGrpc.StreamsService.read.path, streamsGrpc.StreamsService.append.path].map((path) => {
        const [, service = '', method = ''] = path.split('/');
        return new serverFeaturesPb.SupportedMethod().setServiceName(service.toLowerCase()).setMethodName(method.toLowerCase());
      });
      callback(null, new serverFeaturesPb.SupportedMethods().setMethodsList(methods).setEventStoreServerVersion(SERVER_VERSION));
    },
  } satisfies serverFeaturesGrpc.IServerFeaturesServer);

  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${HOST}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );

  let closed = false;
  return {
    url: `esdb://${HOST}:${port}?tls=false`,
    port,
    log,
    faults,
    get appendCalls() {
      return appendCalls;
    },
    get liveSubscriptions() {
      return live.size;
    },
    dropSubscriptions(error = statusError(grpc.status.UNAVAILABLE, 'Server Is Shutting Down')) {
      const dropped = [...live];
      for (const subscription of dropped) subscription.drop(error);
      return dropped.length;
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const subscription of [...live]) subscription.drop(statusError(grpc.status.UNAVAILABLE, 'Server Is Shutting Down'));
      // Clients keep idle connections open: end them rather than wait for them.
      server.forceShutdown();
    },
  };
}
