/**
 * One client's outgoing side, bounded twice: frames are written to the socket while what the socket
 * holds for this client stays under `maxBufferedBytes`; the rest wait in a queue of at most
 * `maxQueuedFrames` frames and `maxQueuedBytes` bytes (references to frames serialised once for
 * everybody, not copies). Above that,
 * frames for this client are dropped and counted, and once there is room it is first told how many
 * it missed (a `tap.dropped` event). A client that keeps its queue full for `stuckTimeoutMs` (it
 * stopped reading) is disconnected. Nothing here waits: a slow client costs the run its buffer.
 *
 * The queue is what lets a late joiner's replay (thousands of frames at once) go out at the
 * client's pace instead of being dropped; `pump()` runs on every frame and on the server's timer.
 */
import type { WebSocket } from 'ws';

export interface ClientBufferLimits {
  maxBufferedBytes: number;
  maxQueuedFrames: number;
  /** Bytes of live frames queued. */
  maxQueuedBytes: number;
  stuckTimeoutMs: number;
}

export class ClientBuffer {
  private queue: Buffer[] = [];
  /** Bytes each queued frame counts against maxQueuedBytes (0 for notices). */
  private counted: number[] = [];
  /** A late joiner's replay, serialised one frame at a time as the socket takes them (before the queue). */
  private replay: { next: number; count: number; frameAt: (i: number) => Buffer } | null = null;
  private head = 0;
  private queuedBytes = 0;
  /** Frames dropped since the last notice, and in all. */
  private pendingDropped = 0;
  totalDropped = 0;
  /** Since when the queue has been full (null: it has room). */
  private fullSince: number | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly limits: ClientBufferLimits,
    /** The `tap.dropped` frame telling this client it missed `n` events. */
    private readonly droppedNotice: (n: number) => Buffer,
  ) {}

  get queued(): number {
    return this.queue.length - this.head;
  }

  /** Nothing left to hand to the socket (no replay, no queue). */
  get idle(): boolean {
    return this.replay === null && this.queued === 0;
  }

  /** Sends `count` frames first, made by `frameAt` only when the socket has room for them. */
  startReplay(count: number, frameAt: (i: number) => Buffer): void {
    if (count > 0) this.replay = { next: 0, count, frameAt };
    this.pump();
  }

  /** Queues one live frame (dropped and counted when the queue is full). */
  send(frame: Buffer, now = Date.now()): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.pump(); // the socket may have taken some since the last frame
    const bytes = frame.length;
    if (this.queued >= this.limits.maxQueuedFrames || this.queuedBytes + bytes > this.limits.maxQueuedBytes) {
      this.pendingDropped++;
      this.totalDropped++;
      this.fullSince ??= now;
    } else {
      // The gap is here, between what was queued before the drops and this frame.
      if (this.pendingDropped > 0) this.push(this.takeNotice(), 0);
      this.push(frame, bytes);
      this.fullSince = null;
    }
    this.pump();
  }

  private hasRoom(bytes: number): boolean {
    return this.ws.bufferedAmount + bytes <= this.limits.maxBufferedBytes;
  }

  /** Writes queued frames while the socket has room; the drop notice goes before the frames after the gap. */
  pump(): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    while (this.replay) {
      if (this.ws.bufferedAmount >= this.limits.maxBufferedBytes) return;
      this.ws.send(this.replay.frameAt(this.replay.next++), { binary: false });
      if (this.replay.next === this.replay.count) this.replay = null;
    }
    while (this.head < this.queue.length) {
      const f = this.queue[this.head];
      if (!this.hasRoom(f.length)) break;
      this.ws.send(f, { binary: false });
      this.queuedBytes -= this.counted[this.head];
      this.queue[this.head++] = EMPTY;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.counted = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.counted = this.counted.slice(this.head);
      this.head = 0;
    }
    // Drained with drops outstanding and nothing new to send: tell the client now.
    if (this.pendingDropped > 0 && this.queued === 0 && this.hasRoom(0)) this.ws.send(this.takeNotice(), { binary: false });
    if (this.queued < this.limits.maxQueuedFrames && this.pendingDropped === 0) this.fullSince = null;
  }

  private push(frame: Buffer, bytes: number): void {
    this.queue.push(frame);
    this.counted.push(bytes);
    this.queuedBytes += bytes;
  }

  private takeNotice(): Buffer {
    const n = this.droppedNotice(this.pendingDropped);
    this.pendingDropped = 0;
    return n;
  }

  /** Called on the server's timer: moves the queue on; true when the client has been stuck too long. */
  tick(now = Date.now()): boolean {
    this.pump();
    return this.fullSince !== null && now - this.fullSince > this.limits.stuckTimeoutMs;
  }
}

const EMPTY = Buffer.alloc(0);
