import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import type streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import {
  Server,
  ServerCredentials,
  type ServerReadableStream,
  type ServiceError,
  type sendUnaryData,
  type status,
} from '@grpc/grpc-js';
import { append } from './append.js';
import { rpcError } from './codec.js';
import { del, tombstone } from './delete.js';
import { TransactionLog, type TransactionLogOptions } from './log.js';
import { handleRead, type ReadCall, type ReadStats } from './read.js';
import { seedSystemEvents } from './system-events.js';

type AppendReq = InstanceType<typeof streamsPb.AppendReq>;
type AppendResp = InstanceType<typeof streamsPb.AppendResp>;

export type EmulatedMethod = 'Read' | 'Append' | 'Delete' | 'Tombstone';

/** A fault the next call to `method` suffers: a delay (to pass a deadline) and/or an error status. */
export interface Fault {
  method: EmulatedMethod;
  delayMs?: number;
  error?: { code: status; details: string; trailers?: Record<string, string> };
}

export interface EsdbEmulatorOptions extends TransactionLogOptions {
  /** The server's MaxAppendSize, against which it counts each event's data + metadata + 2 × type length. */
  maxAppendSize?: number;
}

export interface EsdbEmulator {
  /** `esdb://127.0.0.1:<port>?tls=false` */
  readonly url: string;
  readonly port: number;
  readonly log: TransactionLog;
  /** Events sent on subscriptions so far (to see how far a server runs ahead of a slow subscriber). */
  readonly stats: ReadStats;
  /** Makes the next call to a method fail or stall. */
  injectFault(fault: Fault): void;
  /**
   * Restarts the node: calls in flight fail, the port is served again, the log is kept, and what the server keeps
   * only in memory is lost. That is the recent-id cache, so an ANY retry of a write made before the restart is no
   * longer recognised by the server (IndexWriter `_committedEvents` is filled only by the leader's writer).
   */
  restart(): Promise<void>;
  /** Runs a scavenge to its end (see TransactionLog.scavenge); returns how many records it removed. */
  scavenge(): number;
  stop(): Promise<void>;
}

/** The server's default MaxAppendSize up to v25.0 (ClusterVNodeOptions: 1 MiB; 256 MiB from v25.1). */
export const DEFAULT_MAX_APPEND_SIZE = 1_048_576;

/**
 * Starts an emulator of the EventStoreDB/KurrentDB Streams gRPC service on 127.0.0.1 (a free port, insecure), built
 * on the service definition `@eventstore/db-client` ships. ServerFeatures and BatchAppend are not implemented: the
 * client answers UNIMPLEMENTED from ServerFeatures with "unknown server version" and then uses plain Append.
 */
export async function startEsdbEmulator(options: EsdbEmulatorOptions = {}): Promise<EsdbEmulator> {
  const log = new TransactionLog(options);
  seedSystemEvents(log);
  const maxAppendSize = options.maxAppendSize ?? DEFAULT_MAX_APPEND_SIZE;
  const faults: Fault[] = [];
  const stats: ReadStats = { subscriptionEvents: 0 };

  /** Applies (once) a fault queued for `method`; returns the error to answer with, if any. */
  async function fault(method: EmulatedMethod): Promise<ServiceError | undefined> {
    const i = faults.findIndex((f) => f.method === method);
    if (i < 0) return undefined;
    const [f] = faults.splice(i, 1);
    if (f?.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
    return f?.error ? rpcError(f.error.code, f.error.details, f.error.trailers) : undefined;
  }

  const service = {
    read: (call: ReadCall) => {
      void fault('Read').then((err) => {
        if (err) call.emit('error', err);
        else if (!call.cancelled) handleRead(log, call, stats);
      });
    },
    append: (call: ServerReadableStream<AppendReq, AppendResp>, cb: sendUnaryData<AppendResp>) => {
      void fault('Append').then((err) => (err ? cb(err) : append(log, maxAppendSize, call, cb)));
    },
    delete: (call: Parameters<typeof del>[1], cb: Parameters<typeof del>[2]) => {
      void fault('Delete').then((err) => (err ? cb(err) : del(log, call, cb)));
    },
    tombstone: (call: Parameters<typeof tombstone>[1], cb: Parameters<typeof tombstone>[2]) => {
      void fault('Tombstone').then((err) => (err ? cb(err) : tombstone(log, call, cb)));
    },
  };
  const listen = (port: number) =>
    new Promise<{ server: Server; port: number }>((resolve, reject) => {
      const server = new Server();
      server.addService(streamsGrpc.StreamsService, service);
      server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve({ server, port: p }),
      );
    });
  const shutdown = (server: Server) =>
    new Promise<void>((resolve) => {
      server.tryShutdown(() => resolve());
      setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1_000).unref();
    });
  let current = await listen(0);
  const port = current.port;
  return {
    url: `esdb://127.0.0.1:${port}?tls=false`,
    port,
    log,
    stats,
    injectFault: (f) => faults.push(f),
    restart: async () => {
      current.server.forceShutdown();
      log.idCache.clear();
      current = await listen(port);
    },
    scavenge: () => log.scavenge(),
    stop: () => shutdown(current.server),
  };
}
