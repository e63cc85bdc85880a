// Types of @syvault/sdk: the SyVault protocol core compiled to WebAssembly, driven by the host's
// fetch. Every entry point (Node import and require, Deno, Bun, workerd, browsers) exports this.

/**
 * A client's credentials, in the shape of the credentials file that `sy init`,
 * `syvault-dev --credentials` and {@link SyVaultClient.bootstrap} produce. `client_secret` is the
 * client's private key: store the whole object as a secret.
 */
export interface Credentials {
  server: string;
  client_id: string;
  client_secret: string;
}

/** The host's `fetch`, or one of the caller's with the same shape. */
export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

/** Options of {@link SyVaultClient} and {@link SyVaultClient.bootstrap}. */
export interface ClientOptions {
  /** Used instead of the global `fetch` (a proxying fetch, a test double). */
  fetch?: Fetch;
  /**
   * Allows plain `http://` to a server that is neither `localhost` nor a literal loopback
   * address (`127.0.0.0/8`, `[::1]`). Off by default: secrets are end-to-end encrypted, bearer
   * tokens are not, and a WebAssembly host cannot check where a name resolved.
   */
  allowPlainHttp?: boolean;
  /** How long a decrypted secret is served from memory; 0 disables the cache. Default 60 000. */
  cacheTtlMs?: number;
  /** The most secrets the cache keeps; the least recently read go first. Default 100 000. */
  cacheMaxEntries?: number;
  /** Serves a cached secret up to this long past its TTL when the server cannot be reached. */
  maxStaleMs?: number;
  /** Limits each request as a whole; retries get the same limit each. Default 30 000. */
  requestTimeoutMs?: number;
  /** Refuses larger response bodies. Default 16 MiB. */
  maxResponseBody?: number;
}

/** One entry of {@link SyVaultClient.list}. */
export interface SecretSummary {
  readonly uid: string;
  readonly title: string;
  readonly recordType: string;
  readonly folderId: string;
  /** Folder names from the top, such as `["Production"]`. */
  readonly folderPath: string[];
  readonly revision: number;
}

/** A decrypted secret. */
export interface Secret {
  readonly uid: string;
  readonly title: string;
  readonly recordType: string;
  readonly folderId: string;
  readonly revision: number;
  readonly fields: Readonly<Record<string, string>>;
  readonly notes: string;
}

/** A folder granted to the client. */
export interface Folder {
  readonly folderId: string;
  readonly parentId: string | null;
  readonly name: string;
  readonly access: "read" | "read_write";
}

/** What {@link SyVaultClient.create} takes. The fields are stored in the order given. */
export interface NewSecret {
  folderId: string;
  title: string;
  fields?: Record<string, string>;
  notes?: string;
  recordType?: string;
}

/** A completed rotation. */
export interface RotationOutcome {
  readonly rotationId: string;
  readonly revision: number;
  readonly secret: Secret;
}

/** A lease as listed or renewed, without its credential. */
export interface LeaseInfo {
  readonly leaseId: string;
  readonly recordUid: string;
  readonly username: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** A lease taken: a temporary database role and its password. */
export interface Lease extends LeaseInfo {
  readonly password: string;
  /** A URL to connect with, the password percent-encoded in it. */
  readonly connectionString: string;
}

/** Where a kept lease stands. */
export type LeaseStatus = "active" | "expiring" | "expired" | "revoked" | "failed";

/** A snapshot of a kept lease. */
export interface KeeperState {
  readonly status: LeaseStatus;
  readonly expiresAt: Date;
  /** When to take a new lease if this one has not been renewed by then. */
  readonly replaceAt: Date;
  readonly renewals: number;
}

/** How a kept lease ended. */
export type LeaseEnd = "expired" | "revoked";

/** Options of {@link Dynamic.keep}. */
export interface KeepOptions {
  /** Called (from the microtask queue) whenever the keeper's state changes. */
  onChange?: (state: KeeperState) => void;
}

/** The error codes the server sends (protocol §10.2). */
export type ServerErrorCode =
  | "invalid_request"
  | "unauthorized"
  | "token_expired"
  | "forbidden"
  | "secret_not_found"
  | "folder_not_found"
  | "rotation_not_found"
  | "uid_conflict"
  | "rotation_in_progress"
  | "rotation_not_configured"
  | "rate_limited"
  | "internal"
  | "unavailable"
  | "lease_not_found"
  | "not_dynamic_target"
  | "target_unavailable"
  | "sync_token_expired"
  | "idempotency_key_reused"
  | "lease_limit_reached";

/** The codes of failures found on the client's side. */
export type ClientErrorCode =
  | "invalid_key"
  | "invalid_one_time_token"
  | "jwt"
  | "decryption"
  | "invalid_payload"
  | "invalid_input"
  | "notation"
  | "malformed_response"
  | "body_too_large"
  | "unknown_folder"
  | "rotation_failed"
  | "rotation_timeout"
  | "create_unconfirmed"
  | "transport_connect"
  | "transport_timeout"
  | "transport_connection_closed"
  | "transport_tls"
  | "transport"
  | "error";

/** Every code; a code a newer server sends that this version does not know comes verbatim. */
export type ErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

/** What every method rejects with (and the constructor throws). Never holds a secret. */
export interface SyVaultError extends Error {
  readonly name: "SyVaultError";
  readonly code: ErrorCode;
  /** Whether trying again later may succeed (the client already retried what it could). */
  readonly retryable: boolean;
  /** The HTTP status, for an error answer of the server. */
  readonly status?: number;
  /** The secret or dynamic target concerned; after `create_unconfirmed`, the UID under which
   *  the secret may exist: read it before creating the secret again. */
  readonly uid?: string;
  /** The rotation to resume after `rotation_timeout`, or that failed. */
  readonly rotationId?: string;
  /** The lease concerned. */
  readonly leaseId?: string;
  /** How long the server asked to wait before trying again. */
  readonly retryAfterMs?: number;
}

/** Whether `value` is an error of this package. */
export function isSyVaultError(value: unknown): value is SyVaultError;

/**
 * A SyVault client. Operations may run concurrently and share the token, folder keys and the
 * cache; concurrent reads of one secret share one request.
 */
export class SyVaultClient {
  /**
   * A client from its credentials: the credentials file's object or its JSON text. Throws a
   * {@link SyVaultError} for credentials or options that are not valid. Nothing is sent yet.
   */
  constructor(credentials: Credentials | string, options?: ClientOptions);
  /**
   * Turns a one-time token (`vft_…`) into a new client's credentials, to store and pass to the
   * constructor.
   */
  static bootstrap(server: string, oneTimeToken: string, options?: ClientOptions): Promise<Credentials>;
  /** The server URL requests go to. */
  readonly server: string;
  /** The client id. */
  readonly clientId: string;
  /** Every secret visible to the client. */
  list(): Promise<SecretSummary[]>;
  /**
   * One secret, from the cache while it is fresh. The object is frozen, and the same object is
   * given again while the cache holds the same secret.
   */
  get(uid: string): Promise<Secret>;
  /** The value a `sy://` reference selects. */
  notation(reference: string): Promise<string>;
  /** The folders granted to the client. */
  folders(): Promise<Folder[]>;
  /** Creates a secret in a folder the client may write to. */
  create(secret: NewSecret): Promise<Secret>;
  /** Rotates a secret and waits for the outcome. */
  rotate(uid: string): Promise<RotationOutcome>;
  /** Waits again for a rotation whose wait timed out (`rotation_timeout`). */
  resumeRotation(uid: string, rotationId: string): Promise<RotationOutcome>;
  /** Leases on dynamic (database) targets. */
  dynamic(): Dynamic;
  /** Drops every cached secret and the notation index. */
  clearCache(): void;
  /** Frees the client's memory in the module now rather than when it is collected. */
  free(): void;
}

/** Leases on dynamic targets, from {@link SyVaultClient.dynamic}. */
export class Dynamic {
  private constructor();
  /** Takes a lease for `ttlSeconds` (whole seconds, 60 to 86 400). */
  lease(uid: string, ttlSeconds: number): Promise<Lease>;
  /** Renews a lease for `ttlSeconds` from now, within 24 h of its creation. */
  renew(leaseId: string, ttlSeconds: number): Promise<LeaseInfo>;
  /** Revokes a lease now. */
  revoke(leaseId: string): Promise<void>;
  /** This client's active leases. */
  leases(): Promise<LeaseInfo[]>;
  /**
   * Keeps a lease (taken with `ttlSeconds`) alive on the host's timers until it is closed or
   * reaches the 24 h cap. Its timer keeps a Node process alive: close it when done.
   */
  keep(lease: LeaseInfo, ttlSeconds: number, options?: KeepOptions): LeaseKeeper;
  free(): void;
}

/** A lease kept alive, from {@link Dynamic.keep}. */
export class LeaseKeeper {
  private constructor();
  readonly leaseId: string;
  readonly state: KeeperState;
  /** Settles when the keeper ends; rejects with the error that stopped it (state `failed`). */
  readonly done: Promise<LeaseEnd>;
  /** Revokes the lease and resolves as `done` does. */
  close(): Promise<LeaseEnd>;
  free(): void;
}
