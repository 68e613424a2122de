// The bridge's merchant API as the end-to-end tests call it: JSON in and out, a Bearer key.

export type MerchantApi = <T = any>(
  method: string,
  path: string,
  body?: unknown,
  key?: string,
) => Promise<{ status: number; body: T }>;

/** Calls the merchant API at `bridgeUrl` as `apiKey` (or the key given per call). */
export function merchantApi(bridgeUrl: string, apiKey: string): MerchantApi {
  return async (method, path, body, key = apiKey) => {
    const res = await fetch(bridgeUrl + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
}

/** GETs `path` every 50 ms until `until` holds and returns that body; fails with the last body after `timeoutMs`. */
export async function pollApi(
  api: MerchantApi,
  what: string,
  path: string,
  until: (body: any) => boolean,
  timeoutMs = 20_000,
  key?: string,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    last = (await api('GET', path, undefined, key)).body;
    if (until(last)) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not reach the expected state; last: ${JSON.stringify(last)}`);
}
