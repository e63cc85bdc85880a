// A TypeScript consumer of every method and type of @syvault/sdk: `tsc --strict --noEmit`
// checks it against the package's declarations (CI does). It is compiled, not run.
import {
  type ClientOptions,
  type Credentials,
  type ErrorCode,
  type Folder,
  type KeeperState,
  type Lease,
  type LeaseEnd,
  type LeaseInfo,
  type LeaseKeeper,
  type NewSecret,
  type RotationOutcome,
  type Secret,
  type SecretSummary,
  type SyVaultError,
  Dynamic,
  SyVaultClient,
  isSyVaultError,
} from "@syvault/sdk";

export async function everything(file: string, token: string): Promise<string[]> {
  const options: ClientOptions = {
    fetch: (input, init) => fetch(input, init),
    allowPlainHttp: false,
    cacheTtlMs: 60_000,
    cacheMaxEntries: 10_000,
    maxStaleMs: 300_000,
    requestTimeoutMs: 30_000,
    maxResponseBody: 16 << 20,
  };
  const fromFile: Credentials = JSON.parse(file) as Credentials;
  const client = new SyVaultClient(file, options);
  const again = new SyVaultClient(fromFile);
  const server: string = client.server;
  const id: string = again.clientId;

  const secrets: SecretSummary[] = await client.list();
  const path: string[] = secrets[0].folderPath;
  const secret: Secret = await client.get(secrets[0].uid);
  const password: string | undefined = secret.fields["password"];
  const selected: string = await client.notation("sy://Production/Database/field/password");
  const folders: Folder[] = await client.folders();
  const access: "read" | "read_write" = folders[0].access;
  const parent: string | null = folders[0].parentId;
  const input: NewSecret = { folderId: folders[0].folderId, title: "Cache", fields: { password: "x" } };
  const created: Secret = await client.create(input);
  const outcome: RotationOutcome = await client.rotate(created.uid);
  const resumed: RotationOutcome = await client.resumeRotation(created.uid, outcome.rotationId);
  client.clearCache();

  const bootstrapped: Credentials = await SyVaultClient.bootstrap(server, token, { requestTimeoutMs: 5_000 });
  const dynamic: Dynamic = client.dynamic();
  const lease: Lease = await dynamic.lease(secrets[0].uid, 3600);
  const expires: number = lease.expiresAt.getTime();
  const renewed: LeaseInfo = await dynamic.renew(lease.leaseId, 3600);
  const listed: LeaseInfo[] = await dynamic.leases();
  const keeper: LeaseKeeper = dynamic.keep(lease, 3600, {
    onChange: (state: KeeperState) => console.log(state.status, state.replaceAt.toISOString()),
  });
  const state: KeeperState = keeper.state;
  const ended: LeaseEnd = await keeper.close();
  const done: LeaseEnd = await keeper.done;
  await dynamic.revoke(renewed.leaseId);

  try {
    await client.get("AAAAAAAAAAAA");
  } catch (error: unknown) {
    if (isSyVaultError(error)) {
      const e: SyVaultError = error;
      const code: ErrorCode = e.code;
      if (code === "secret_not_found" && e.status === 404 && !e.retryable) console.log(e.uid);
      if (code === "rate_limited") console.log(e.retryAfterMs);
      if (code === "rotation_timeout") console.log(e.rotationId);
      if (code === "lease_not_found") console.log(e.leaseId);
    }
  }
  keeper.free();
  dynamic.free();
  client.free();
  again.free();
  return [server, id, path.join("/"), password ?? "", selected, access, parent ?? "", resumed.rotationId,
    bootstrapped.client_id, String(expires), String(listed.length), state.status, ended, done];
}

// Mistakes the declarations must refuse.
export function refused(client: SyVaultClient): void {
  // @ts-expect-error: credentials use the file's names
  new SyVaultClient({ server: "https://vault.example.com", clientId: "x", clientSecret: "y" });
  // @ts-expect-error: a secret's fields are read-only
  void client.get("AAAAAAAAAAAA").then((secret) => (secret.fields.password = "changed"));
  // @ts-expect-error: a TTL is a number of seconds
  void client.dynamic().lease("AAAAAAAAAAAA", "1h");
  // @ts-expect-error: no such option
  new SyVaultClient("{}", { timeout: 5 });
}
