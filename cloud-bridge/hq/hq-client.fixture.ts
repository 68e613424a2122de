import type { Bridge } from '../bridge.js';

// A back-office client over app.inject for the route tests: log in as a user (every test user
// has the same password), then call with their cookie and CSRF token.

export const TEST_PASSWORD = 'a long password';

export interface Login {
  cookie: string;
  csrf: string;
}

export function hqClient(bridge: Bridge) {
  const call = async (
    method: string,
    url: string,
    as?: Login,
    payload?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await bridge.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(as ? { cookie: as.cookie, 'x-csrf-token': as.csrf } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
    const json = /json/.test(String(res.headers['content-type'] ?? ''));
    const body = json && res.body ? (JSON.parse(res.body) as Record<string, any>) : {};
    return {
      status: res.statusCode,
      body,
      raw: res.body,
      rawBytes: res.rawPayload,
      headers: res.headers,
      code: body.error?.code as string | undefined,
    };
  };
  const login = async (username: string): Promise<Login> => {
    const res = await bridge.app.inject({
      method: 'POST',
      url: '/hq/api/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username, password: TEST_PASSWORD }),
    });
    if (res.statusCode !== 200) throw new Error(res.body);
    return { cookie: String(res.headers['set-cookie']).split(';')[0]!, csrf: (res.json() as { csrf: string }).csrf };
  };
  return { call, login };
}
