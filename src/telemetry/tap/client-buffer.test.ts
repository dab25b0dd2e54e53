import type { WebSocket } from 'ws';
import { ClientBuffer } from './client-buffer';

/** A socket whose buffer fills as frames are sent and empties when the test says it was read. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  readonly sent: string[] = [];
  send(b: Buffer): void {
    this.sent.push(b.toString());
    this.bufferedAmount += b.length;
  }
  /** The peer read `bytes` (all by default). */
  read(bytes = Infinity): void {
    this.bufferedAmount = Math.max(0, this.bufferedAmount - bytes);
  }
}

const f = (s: string): Buffer => Buffer.from(s.padEnd(10, '.'));

describe('ClientBuffer', () => {
  function setup(stuckTimeoutMs = 1000) {
    const ws = new FakeSocket();
    // Room for 2 frames of 10 bytes in the socket, 2 in the queue.
    const b = new ClientBuffer(ws as unknown as WebSocket, { maxBufferedBytes: 20, maxQueuedFrames: 2, maxQueuedBytes: 1000, stuckTimeoutMs }, (n) => Buffer.from(`dropped:${n}`));
    return { ws, b };
  }
  const names = (ws: FakeSocket): string[] => ws.sent.map((s) => s.replace(/\.+$/, ''));

  it('queues past the socket buffer, drops past the queue, and puts the notice where the gap is', () => {
    const { ws, b } = setup();
    for (const x of ['a', 'b', 'c', 'd', 'e', 'f']) b.send(f(x), 0);
    // a, b fill the socket; c, d wait; e, f are dropped.
    expect(names(ws)).toEqual(['a', 'b']);
    expect(b.queued).toBe(2);
    expect(b.totalDropped).toBe(2);
    ws.read(10); // room for one more: c goes, d still waits
    b.send(f('g'), 10); // the gap (e, f) lies between d and g
    expect(names(ws)).toEqual(['a', 'b', 'c']);
    ws.read();
    b.tick(20);
    ws.read();
    b.tick(30);
    expect(names(ws)).toEqual(['a', 'b', 'c', 'd', 'dropped:2', 'g']);
  });

  it('sends a due notice once drained even when nothing else comes', () => {
    const { ws, b } = setup();
    for (const x of ['a', 'b', 'c', 'd', 'e']) b.send(f(x), 0);
    ws.read();
    b.tick(10);
    ws.read();
    b.tick(20);
    expect(names(ws)).toEqual(['a', 'b', 'c', 'd', 'dropped:1']);
    expect(b.tick(5000)).toBe(false); // drained: not stuck, however long after
  });

  it('bounds the queue in bytes too, and sends a replay first, made frame by frame as the socket takes them', () => {
    const ws = new FakeSocket();
    const b = new ClientBuffer(ws as unknown as WebSocket, { maxBufferedBytes: 10, maxQueuedFrames: 100, maxQueuedBytes: 25, stuckTimeoutMs: 1000 }, (n) => Buffer.from(`dropped:${n}`));
    const made: number[] = [];
    b.startReplay(3, (i) => (made.push(i), f(`r${i}`)));
    expect(made).toEqual([0]); // one frame fills the socket; the others are not even made yet
    for (const x of ['b', 'c', 'd']) b.send(f(x), 0); // 10 + 10 bytes fit in 25; d does not
    expect(b.queued).toBe(2);
    expect(b.totalDropped).toBe(1);
    for (let t = 1; t < 8; t++) {
      ws.read();
      b.tick(t);
    }
    expect(names(ws)).toEqual(['r0', 'r1', 'r2', 'b', 'c', 'dropped:1']);
  });

  it('reports a client stuck with a full queue for longer than the timeout', () => {
    const { b } = setup(1000);
    for (const x of ['a', 'b', 'c', 'd', 'e']) b.send(f(x), 100);
    expect(b.tick(900)).toBe(false);
    expect(b.tick(1101)).toBe(true);
  });
});
