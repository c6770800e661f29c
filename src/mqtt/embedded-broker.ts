/**
 * A broker inside the daemon for sites with no infrastructure: aedes on 127.0.0.1, so `npm start` works on a
 * fresh machine and nothing outside the kiosk can reach it. aedes speaks MQTT 3.1.1 only, so clients of it use
 * protocol version 4 (no response topics; results still go to `cmd/<verb>/result`).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { Duplex, Transform, type TransformCallback } from 'node:stream';
import { Aedes } from 'aedes';

export interface EmbeddedBrokerOptions {
  /** Largest MQTT packet a client may send; the connection is dropped when a bigger one is announced. */
  maxPacketBytes: number;
}

/**
 * aedes has no maximum packet size (moscajs/aedes#831): its parser buffers a whole PUBLISH before anything can look
 * at it, and one 200 MB publish added 428 MB RSS to the daemon. This follows the MQTT framing of the incoming bytes
 * — a type byte, the remaining length as a 1-4 byte varint, then that many bytes — and fails as soon as a packet
 * announces more than the limit, before its body arrives. Only the framing is read here; aedes parses the rest.
 */
export class PacketSizeLimit extends Transform {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    for (let i = 0; i < chunk.length; ) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i] as number;
      i += 1;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (this.length > this.maxBytes) {
        done(new Error(`packet of ${this.length} bytes announced, over the ${this.maxBytes} byte limit`));
        return;
      }
      if (byte & 0x80) {
        if (this.lengthBytes === 4) {
          done(new Error('malformed packet length'));
          return;
        }
        continue;
      }
      this.remaining = this.length;
      this.state = this.remaining === 0 ? 'type' : 'body';
    }
    done(null, chunk);
  }
}

/** The socket as aedes sees it: writes go straight out, reads pass the packet size limit first. */
function limitedConnection(socket: Socket, maxPacketBytes: number): Duplex {
  const limit = new PacketSizeLimit(maxPacketBytes);
  limit.once('error', () => socket.destroy());
  return Duplex.from({ readable: socket.pipe(limit), writable: socket });
}

export interface EmbeddedBroker {
  url: string;
  port: number;
  close(): Promise<void>;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Starts aedes; a busy port (a system broker already on 1883) falls back to a free one, which the caller logs. */
export async function startEmbeddedBroker(
  host: string,
  port: number,
  opts: EmbeddedBrokerOptions,
): Promise<EmbeddedBroker & { fellBack: boolean }> {
  const aedes = await Aedes.createBroker({ drainTimeout: 30_000 });
  const server = createServer((socket) => aedes.handle(limitedConnection(socket, opts.maxPacketBytes)));
  let bound: number;
  let fellBack = false;
  try {
    bound = await listen(server, host, port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) {
      aedes.close();
      throw err;
    }
    bound = await listen(server, host, 0);
    fellBack = true;
  }
  return {
    url: `mqtt://${host}:${bound}`,
    port: bound,
    fellBack,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        aedes.close(() => undefined);
        // server.close waits for connections; aedes.close ends them.
      }),
  };
}
