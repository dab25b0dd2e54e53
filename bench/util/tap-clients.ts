/**
 * Child process of bench/tap.ts: `node tap-clients.js URL N` opens N tap clients subscribed to
 * everything, reads every frame, prints "ready" once all are greeted and, on exit, the frames read.
 * In its own process, as real clients are: their reading costs the machine, not the tap's thread.
 */
import WebSocket from 'ws';

const [url, nText] = process.argv.slice(2);
const n = Number(nText);
let greeted = 0;
let frames = 0;
for (let i = 0; i < n; i++) {
  const ws = new WebSocket(url);
  ws.on('open', () => ws.send(JSON.stringify({ subscribe: ['*'] })));
  ws.on('message', (d: Buffer) => {
    frames++;
    if (d.includes('"tap.hello"') && ++greeted === n) process.stdout.write('ready\n');
  });
  ws.on('error', (e) => process.stderr.write(`client ${i}: ${e.message}\n`));
}
process.on('SIGTERM', () => {
  process.stdout.write(`frames ${frames}\n`);
  process.exit(0);
});
