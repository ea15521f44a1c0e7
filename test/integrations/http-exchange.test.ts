import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GatewayError } from '../../src/integrations/gateway-errors.js';
import { exchange, type Appliance } from '../../src/integrations/http-exchange.js';
import { MAX_CONNECTIONS_PER_APPLIANCE } from '../../src/integrations/http-transport.js';

const OMA: Appliance = { label: 'OMA', secrets: ['token-42'] };
const SLOW_ANSWER_MS = 100;

/** Transport behaviours the clients rely on, against a server that misbehaves on purpose. */
describe('HTTP exchange with an appliance', () => {
  let server: Server;
  let base: string;
  let connections = 0;
  const paths: string[] = [];

  before(async () => {
    server = createServer((request, response) => {
      paths.push(request.url ?? '');
      switch (request.url) {
        case '/moved':
          response.writeHead(302, { location: '/elsewhere' });
          return response.end('moved');
        case '/trickle': {
          response.writeHead(200, { 'content-type': 'text/plain' });
          const drip = setInterval(() => response.write('.'), 20);
          response.on('close', () => clearInterval(drip));
          return;
        }
        case '/slow':
          setTimeout(() => {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end('{}');
          }, SLOW_ANSWER_MS);
          return;
        case '/cut':
          response.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
          response.write('{"status":');
          setTimeout(() => request.socket.destroy(), 10);
          return;
        default:
          response.writeHead(200, { 'content-type': 'application/json' });
          return response.end(JSON.stringify({ authorization: request.headers.authorization ?? null }));
      }
    });
    server.on('connection', () => (connections += 1));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );

  it('keeps the connection alive across exchanges, sending the given headers', async () => {
    const before = connections;
    for (let call = 0; call < 3; call += 1) {
      const answer = await exchange(OMA, { method: 'GET', url: new URL(`${base}/state`), headers: { authorization: 'Bearer token-42' }, timeoutMs: 2000 });
      assert.deepEqual(answer, { status: 200, text: '{"authorization":"Bearer token-42"}' });
    }
    assert.equal(connections - before, 1);
  });

  it('queues a burst of calls on a bounded number of connections, timing each from its connection', async () => {
    let open = 0;
    let most = 0;
    const counting = (socket: import('node:net').Socket) => {
      open += 1;
      most = Math.max(most, open);
      socket.once('close', () => (open -= 1));
    };
    server.on('connection', counting);
    try {
      // 10 rounds of 64 calls of 100 ms each take at least 1 s: longer than each call's own 600 ms bound,
      // which leaves each call 500 ms of slack on a loaded machine.
      const calls = 10 * MAX_CONNECTIONS_PER_APPLIANCE;
      const timeoutMs = 600;
      const started = performance.now();
      const answers = await Promise.all(Array.from({ length: calls }, () => exchange(OMA, { method: 'GET', url: new URL(`${base}/slow`), timeoutMs })));
      const elapsedMs = performance.now() - started;
      assert.ok(answers.every((answer) => answer.status === 200));
      assert.ok(most <= MAX_CONNECTIONS_PER_APPLIANCE, `${most} connections at once`);
      assert.ok(elapsedMs > timeoutMs, `the burst took ${Math.round(elapsedMs)} ms, so no call waited in the queue past its bound`);
    } finally {
      server.off('connection', counting);
    }
  });

  it('answers a redirect as it is, without following it', async () => {
    assert.deepEqual(await exchange(OMA, { method: 'POST', url: new URL(`${base}/moved`), json: { a: 1 }, timeoutMs: 2000 }), { status: 302, text: 'moved' });
    assert.equal(paths.includes('/elsewhere'), false);
  });

  it('times out an answer that trickles in for longer than the bound', async () => {
    const started = Date.now();
    await assert.rejects(exchange(OMA, { method: 'GET', url: new URL(`${base}/trickle`), timeoutMs: 150 }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'timeout');
      assert.match(error.message, /^OMA GET http:\/\/127\.0\.0\.1:\d+\/trickle: no answer within 150 ms$/);
      return true;
    });
    assert.ok(Date.now() - started < 1000);
  });

  it('reports an answer cut short as unreachable after the request arrived', async () => {
    await assert.rejects(exchange(OMA, { method: 'POST', url: new URL(`${base}/cut`), json: {}, timeoutMs: 2000 }), (error: unknown) => {
      assert.ok(error instanceof GatewayError);
      assert.equal(error.kind, 'unreachable');
      assert.equal(error.details.requestMayHaveArrived, true);
      return true;
    });
  });
});
