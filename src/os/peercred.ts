import type { Socket } from 'node:net';
import { peerCredentials, type PeerCredentials } from './libc.js';

/**
 * The file descriptor behind an accepted Unix-socket connection. Node has no public API for it; its libuv Pipe handle
 * carries it as `_handle.fd` (checked on Node 20 and 24). Anything else (a future Node without it, a socket not
 * yet or no longer open) is undefined, and the caller must then treat the peer as unknown.
 */
export function socketFd(sock: Socket): number | undefined {
  const handle = (sock as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

/** The peer's credentials as the kernel recorded them at connect(); undefined when they cannot be read. */
export function socketPeer(sock: Socket): PeerCredentials | undefined {
  const fd = socketFd(sock);
  if (fd === undefined) return undefined;
  try {
    return peerCredentials(fd);
  } catch {
    // No koffi, or the socket closed under us: unknown, which the caller refuses.
    return undefined;
  }
}
