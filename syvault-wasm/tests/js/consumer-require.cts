// The declarations as a CommonJS consumer sees them (`require`, resolved to index.d.cts).
import sdk = require("@syvault/sdk");

export async function titles(file: string): Promise<string[]> {
  const client: sdk.SyVaultClient = new sdk.SyVaultClient(file);
  const secrets: sdk.SecretSummary[] = await client.list();
  return secrets.map((secret) => secret.title);
}
