/**
 * A broker inside the daemon for sites with no infrastructure: aedes on 127.0.0.1, so `npm start` works on a
 * fresh machine and nothing outside the kiosk can reach it. aedes speaks MQTT 3.1.1 only, so clients of it use
 * protocol version 4 (no response topics; results still go to `cmd/<verb>/result`).
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';

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
export async function startEmbeddedBroker(host: string, port: number): Promise<EmbeddedBroker & { fellBack: boolean }> {
  const aedes = await Aedes.createBroker({ drainTimeout: 30_000 });
  const server = createServer(aedes.handle);
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
