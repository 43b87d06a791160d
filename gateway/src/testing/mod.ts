/**
 * `@shandu/gateway/testing` — harnesses for integration tests: a real `nats-server` with JetStream on a
 * free port, and a fresh PostgreSQL database per run. For `*.int.test.ts` files and the devnet only.
 */
export {
  type NatsServer,
  NatsServerError,
  type NatsServerErrorCode,
  natsServerBinary,
  type StartNatsServerOptions,
  startNatsServer,
} from "./natsServer.ts";
export { createTestDatabase, POSTGRES_SKIP_REASON, type TestDatabase } from "./postgres.ts";
