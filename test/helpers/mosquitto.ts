/**
 * A throwaway MQTT broker for tests: the real Mosquitto (`/usr/sbin/mosquitto`, Debian package `mosquitto`) on a
 * free 127.0.0.1 port with its own config and persistence in a temp dir, so retained messages and sessions survive
 * `stop()` + `start()`. Where Mosquitto is not installed, aedes in-process stands in (MQTT 3.1.1 only, memory
 * persistence kept across the restart). Never touches a system broker on 1883.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const MOSQUITTO_BIN = process.env.FACEGATE_MOSQUITTO ?? '/usr/sbin/mosquitto';
export const hasMosquitto = existsSync(MOSQUITTO_BIN);

export interface TestBroker {
  kind: 'mosquitto' | 'aedes';
  url: string;
  port: number;
  /** 5 for Mosquitto; 4 for aedes, which has no MQTT 5. */
  protocolVersion: 4 | 5;
  /** Stops the broker (persisting its state); `start()` brings it back on the same port. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitForPort(port: number, up: boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await canConnect(port)) === up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker on port ${port} did not come ${up ? 'up' : 'down'} within ${timeoutMs} ms`);
}

async function startMosquitto(): Promise<TestBroker> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'facegate-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${dir}/`,
    'autosave_interval 1',
    `log_dest file ${path.join(dir, 'mosquitto.log')}`,
    'max_queued_messages 100000',
    'max_packet_size 20000000',
  ];
  // Run as root, Mosquitto would switch to the `mosquitto` user, which cannot write our temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  let child: ChildProcess | null = null;

  const start = async () => {
    if (child) return;
    const proc = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' });
    child = proc;
    proc.once('exit', () => {
      if (child === proc) child = null;
    });
    await waitForPort(port, true);
  };
  const stop = async () => {
    const proc = child;
    if (!proc) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
    child = null;
  };
  await start();
  return {
    kind: 'mosquitto',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    protocolVersion: 5,
    start,
    stop,
    close: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startAedes(): Promise<TestBroker> {
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const port = await freePort();
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  const start = async () => {
    if (server) return;
    const s = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      aedes.handle(socket);
    });
    server = s;
    await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', () => resolve()));
  };
  const stop = async () => {
    const s = server;
    if (!s) return;
    server = null;
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  await start();
  return {
    kind: 'aedes',
    url: `mqtt://127.0.0.1:${port}`,
    port,
    protocolVersion: 4,
    start,
    stop,
    close: async () => {
      await stop();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** Mosquitto when installed, aedes otherwise (`FACEGATE_TEST_BROKER=aedes` forces aedes). */
export function startTestBroker(): Promise<TestBroker> {
  if (hasMosquitto && process.env.FACEGATE_TEST_BROKER !== 'aedes') return startMosquitto();
  return startAedes();
}
