/**
 * Prometheus metrics of the gateway and the relayers. Each factory makes its own registry (never the
 * prom-client global one), so several services or tests in one process do not collide. Label values are
 * bounded sets: results are fixed words, lanes come from configuration ({@link laneLabel}).
 */
import { Counter, collectDefaultMetrics, Histogram, Registry } from "prom-client";

/** The content type of {@link Metrics.render}'s output (Prometheus text format 0.0.4). */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export interface MetricsOptions {
  /** Prefix of every metric name. Defaults to `shandu_gateway_` / `shandu_relayer_`. */
  prefix?: string;
  /** Also export the process metrics (CPU, memory, event-loop lag, …). Default false. */
  processMetrics?: boolean;
}

/** A registry to which a service adds its own counters and histograms. */
export interface Metrics {
  readonly registry: Registry;
  /** Adds a counter named `prefix + name` (use a `_total` suffix). */
  counter<L extends string = never>(name: string, help: string, labelNames?: readonly L[]): Counter<L>;
  /** Adds a histogram named `prefix + name`; `buckets` are upper bounds in the metric's unit. */
  histogram<L extends string = never>(name: string, help: string, buckets: readonly number[], labelNames?: readonly L[]): Histogram<L>;
  /** Every metric in the Prometheus text format. */
  render(): Promise<string>;
}

/** A fresh registry whose metric names start with `prefix`. */
export function createMetrics(prefix: string, opts: { processMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics) collectDefaultMetrics({ register: registry, prefix });
  return {
    registry,
    counter: (name, help, labelNames = []) => new Counter({ name: prefix + name, help, labelNames, registers: [registry] }),
    histogram: (name, help, buckets, labelNames = []) =>
      new Histogram({ name: prefix + name, help, labelNames, buckets: [...buckets], registers: [registry] }),
    render: () => registry.metrics(),
  };
}

/** The label value of a lane: `source:destination` chain ids in decimal. */
export function laneLabel(sourceChainId: bigint, destinationChainId: bigint): string {
  return `${sourceChainId}:${destinationChainId}`;
}

/** Seconds from the first partial of a batch to its attestation. */
const ATTESTATION_LATENCY_BUCKETS_SECONDS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds from an attested batch being taken from the queue to its confirmed delivery. */
const DELIVERY_LATENCY_BUCKETS_SECONDS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/**
 * The events {@link GatewayMetrics.observe} counts, by shape only (the service's own event type has
 * more fields; any value of it fits).
 */
export type GatewayMetricEvent =
  | { type: "partial"; result: string; code?: string }
  | { type: "attested"; lane: string; latencyMs?: number }
  | { type: "equivocation" }
  | { type: "published"; result: string };

export interface GatewayMetrics extends Metrics {
  /** Partials received, by outcome: `accepted`, `duplicate`, `attested` or a lower-case error code. */
  partialsReceived: Counter<"result">;
  /** Batches that reached quorum, by lane ({@link laneLabel}). */
  batchesAttested: Counter<"lane">;
  /** Seconds from a batch's first partial to its attestation. */
  attestationLatency: Histogram;
  /** Equivocations detected (a member signed two roots for one nonce range). */
  equivocations: Counter;
  /** Attested batches published to the queue, by outcome (`ok`, `duplicate`, `error`). */
  queuePublish: Counter<"result">;
  /** Counts one service event. A rejected partial counts under its error code, lower-cased. */
  observe(e: GatewayMetricEvent): void;
}

export function createGatewayMetrics(opts: MetricsOptions = {}): GatewayMetrics {
  const m = createMetrics(opts.prefix ?? "shandu_gateway_", opts);
  const partialsReceived = m.counter("partials_received_total", "Partial signatures received, by result.", ["result"]);
  const batchesAttested = m.counter("batches_attested_total", "Batches that reached quorum, by lane.", ["lane"]);
  const attestationLatency = m.histogram(
    "attestation_latency_seconds",
    "Seconds from a batch's first partial signature to its attestation.",
    ATTESTATION_LATENCY_BUCKETS_SECONDS,
  );
  const equivocations = m.counter("equivocations_total", "Equivocations detected (a member signed two roots for one range).");
  const queuePublish = m.counter("queue_publish_total", "Attested batches published to the queue, by result.", ["result"]);
  return {
    ...m,
    partialsReceived,
    batchesAttested,
    attestationLatency,
    equivocations,
    queuePublish,
    observe: (e) => {
      switch (e.type) {
        case "partial":
          partialsReceived.inc({ result: e.result === "rejected" && e.code ? e.code.toLowerCase() : e.result });
          break;
        case "attested":
          batchesAttested.inc({ lane: e.lane });
          if (e.latencyMs !== undefined) attestationLatency.observe(e.latencyMs / 1000);
          break;
        case "equivocation":
          equivocations.inc();
          break;
        case "published":
          queuePublish.inc({ result: e.result });
          break;
      }
    },
  };
}

/** The events {@link RelayerMetrics.observe} counts, by shape only. */
export type RelayerMetricEvent =
  | { type: "delivered"; lane: string; executed: number; ms: number }
  | { type: "skipped" | "retry" | "terminated"; lane: string };

export interface RelayerMetrics extends Metrics {
  /** Delivery attempts, by lane and outcome (`delivered`, `skipped`, `retry`, `terminated`, …). */
  deliveries: Counter<"lane" | "result">;
  /** Messages delivered to their destination, by lane. */
  messagesDelivered: Counter<"lane">;
  /** Seconds from taking an attested batch from the queue to its confirmed delivery. */
  deliveryLatency: Histogram;
  /** Counts one relayer event: a delivery attempt under its type as `result`. */
  observe(e: RelayerMetricEvent): void;
}

export function createRelayerMetrics(opts: MetricsOptions = {}): RelayerMetrics {
  const m = createMetrics(opts.prefix ?? "shandu_relayer_", opts);
  const deliveries = m.counter("deliveries_total", "Delivery attempts, by lane and result.", ["lane", "result"]);
  const messagesDelivered = m.counter("messages_delivered_total", "Messages delivered to their destination, by lane.", ["lane"]);
  const deliveryLatency = m.histogram(
    "delivery_latency_seconds",
    "Seconds from taking an attested batch from the queue to its confirmed delivery.",
    DELIVERY_LATENCY_BUCKETS_SECONDS,
  );
  return {
    ...m,
    deliveries,
    messagesDelivered,
    deliveryLatency,
    observe: (e) => {
      deliveries.inc({ lane: e.lane, result: e.type });
      if (e.type === "delivered") {
        if (e.executed > 0) messagesDelivered.inc({ lane: e.lane }, e.executed);
        deliveryLatency.observe(e.ms / 1000);
      }
    },
  };
}
