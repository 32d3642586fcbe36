import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts listening (port 0 = a free one) and resolves with the bound port; a bind error rejects. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
