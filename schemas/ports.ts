/**
 * Messages on a pipeline edge (a MessagePort between two stages, usually two worker threads).
 *
 * The data plane is credit-based: the consumer grants credits; the producer sends a `data` message
 * only while it holds a credit and its in-flight bytes stay under the edge's byte budget. Each
 * consumed message is acknowledged with a fresh credit and its sequence number, which frees its bytes
 * from the producer's budget. Data positions (cursors) ride in each message's `meta`.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A data message: one Arrow IPC stream (one RecordBatch), its ArrayBuffer transferred. */
export interface DataMessage {
  t: 'data';
  /** Per-edge sequence number, from 0. */
  seq: number;
  /** Arrow IPC stream bytes (the schema named by the edge). */
  payload: ArrayBuffer;
  /** Small JSON side-channel: the data cursor the batch ends at, counts, flags. */
  meta: JsonValue;
}

/** Consumer → producer: `n` more messages may be sent; `ackSeq` acknowledges that message's consumption. */
export interface CreditMessage {
  t: 'credit';
  n: number;
  ackSeq?: number;
}

/** Producer → consumer: no more data on this edge. */
export interface EndMessage {
  t: 'end';
  meta?: JsonValue;
}

export type EdgeMessage = DataMessage | CreditMessage | EndMessage;
