import type { FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

// The merchant API's OpenAPI description, generated from the same zod schemas that
// validate requests and serialise responses, so it cannot drift from what is served.
// Register before the API routes: the plugin collects routes as they are added.

export const OPENAPI_PATH = '/api/v1/openapi.json';

export async function registerOpenApi(
  app: FastifyInstance,
  options: { publicBaseUrl: () => string; version?: string },
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Kauri merchant API',
        version: options.version ?? '1',
        description:
          'Payments (WeChat Pay, Alipay, Chinese online banking), one-code checkouts, refunds and signed webhooks. ' +
          'Authenticate with `Authorization: Bearer <API key>`. Errors are `{"error": {"code", "message"}}`. ' +
          'Every *_minor field is an integer count of minor units (cents).',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'kauri_sk.… API key' } },
      },
      security: [{ apiKey: [] }],
    },
    // Only the merchant API is described; pages, channel notifies and the terminal link are not for merchants.
    transform: (input) => {
      if (!input.url.startsWith('/api/v1/') || input.url === OPENAPI_PATH)
        return { schema: { ...input.schema, hide: true }, url: input.url };
      return jsonSchemaTransform(input);
    },
  });
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => {
    const doc = app.swagger() as { info: Record<string, unknown>; servers?: Array<{ url: string }> };
    const base = options.publicBaseUrl();
    // The API is the operator's, not an open licence: its terms are where the operator's
    // merchants sign in (Redocly's recommended rules want a licence with a URL).
    const license = { name: 'Proprietary: the terms of this bridge’s operator', url: `${base}/hq` };
    return { ...doc, info: { ...doc.info, license }, servers: [{ url: base }] };
  });
}
