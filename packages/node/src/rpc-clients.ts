import type * as http2 from "node:http2";
import { connect } from "node:net";
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, Http2SessionManager } from "@connectrpc/connect-node";
import type { DescService } from "@bufbuild/protobuf";
import { DataNodeService } from "@trainfs/proto";
import { HTTP2_WINDOW_BYTES, MAX_MESSAGE_BYTES, NameNodeFailover, bearerInterceptor, useFastUtf8Encoder, type NameNodeFailoverOptions } from "@trainfs/core";
import { DataTransferClient } from "./data-transfer/data-transfer-client.js";
import { requestIdClientInterceptor } from "./request-context.js";

export interface RpcClientsOptions {
  /** Sent as `authorization: Bearer <token>` on every call (an API token, or a DataNode's credential). */
  token?: string | undefined;
  /** Trusted certificates (PEM) for https addresses, beside the system's. */
  ca?: Buffer | undefined;
}

/**
 * Raises the session-level receive window of every HTTP/2 session it opens;
 * the per-stream window is set through the session's SETTINGS.
 */
class WindowedSessionManager extends Http2SessionManager {
  private readonly widened = new WeakSet<http2.ClientHttp2Session>();

  override async request(...args: Parameters<Http2SessionManager["request"]>): Promise<http2.ClientHttp2Stream> {
    const stream = await super.request(...args);
    const session = stream.session as http2.ClientHttp2Session | undefined;
    if (session && !this.widened.has(session) && !session.destroyed) {
      this.widened.add(session);
      session.setLocalWindowSize(HTTP2_WINDOW_BYTES);
      // connect-node detaches its own error listener when the manager closes;
      // a GOAWAY arriving just then destroys the session with an error that
      // would otherwise be uncaught and crash the process.
      session.on("error", () => {});
    }
    return stream;
  }
}

/**
 * One Connect transport (one HTTP/2 session) per remote address, shared by
 * every call to it. Binary protobuf, no compression, explicit limits.
 */
export class RpcClients {
  private readonly transports = new Map<string, { transport: Transport; sessions: Http2SessionManager }>();
  private readonly interceptors: Interceptor[];
  private readonly dataNodes = new Map<string, { client: Client<typeof DataNodeService>; transfer: DataTransferClient }>();

  constructor(private readonly options: RpcClientsOptions = {}) {
    useFastUtf8Encoder();
    const token = options.token;
    this.interceptors = token ? [bearerInterceptor(() => token)] : [];
  }

  transport(baseUrl: string): Transport {
    let entry = this.transports.get(baseUrl);
    if (!entry) {
      const secure = baseUrl.startsWith("https:");
      const sessions = new WindowedSessionManager(
        baseUrl,
        // While calls are open, a PING unanswered for 5 s ends the session: a
        // paused or partitioned server (a NameNode stopped by SIGSTOP, a
        // cut-off host) fails the call instead of holding it forever, so a
        // client of several NameNodes moves on to the next one.
        { idleConnectionTimeoutMs: 60_000, pingIntervalMs: 5_000, pingTimeoutMs: 5_000 },
        secure
          ? { settings: { initialWindowSize: HTTP2_WINDOW_BYTES }, ...(this.options.ca ? { ca: this.options.ca } : {}) }
          : {
              settings: { initialWindowSize: HTTP2_WINDOW_BYTES },
              // As on the server: small messages must not wait for Nagle's algorithm.
              createConnection: (url: URL) => connect({ host: url.hostname, port: Number(url.port || 80), noDelay: true }),
            },
      );
      const transport = createConnectTransport({
        baseUrl,
        httpVersion: "2",
        useBinaryFormat: true,
        sessionManager: sessions,
        interceptors: [requestIdClientInterceptor(), ...this.interceptors],
        acceptCompression: [],
        readMaxBytes: MAX_MESSAGE_BYTES,
        writeMaxBytes: MAX_MESSAGE_BYTES,
      });
      entry = { transport, sessions };
      this.transports.set(baseUrl, entry);
    }
    return entry.transport;
  }

  client<S extends DescService>(service: S, baseUrl: string): Client<S> {
    return createClient(service, this.transport(baseUrl));
  }

  /**
   * One transport for a list of NameNodes that follows a failover by itself
   * (@trainfs/core's NameNodeFailover), over this object's per-address transports.
   */
  nameNodes(addresses: readonly string[], options: Omit<NameNodeFailoverOptions, "addresses" | "transportFor"> = {}): NameNodeFailover {
    return new NameNodeFailover({ ...options, addresses, transportFor: (address) => this.transport(address) });
  }

  /**
   * A DataNode's client: WriteChunk and ReadChunk go over the data-transfer
   * protocol (raw frames on pooled connections, TLS for https addresses),
   * every other call over Connect.
   */
  dataNode(baseUrl: string): Client<typeof DataNodeService> {
    let entry = this.dataNodes.get(baseUrl);
    if (!entry) {
      const client = this.client(DataNodeService, baseUrl);
      const transfer = new DataTransferClient(baseUrl, this.options.ca);
      entry = { client: { ...client, writeChunk: transfer.writeChunk, readChunk: transfer.readChunk }, transfer };
      this.dataNodes.set(baseUrl, entry);
    }
    return entry.client;
  }

  /** Closes every session; calls still in flight fail. */
  close(): void {
    for (const { transfer } of this.dataNodes.values()) transfer.close();
    this.dataNodes.clear();
    for (const { sessions } of this.transports.values()) sessions.abort();
    this.transports.clear();
  }
}
