// The network interfaces discovery runs a responder on: every interface that is up and has a
// non-internal IPv4 address. (Node lists only interfaces that are up and running, so a
// cable pulled or a Wi-Fi dropped makes the interface vanish from this list.)
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

export interface NetInterface {
  readonly name: string;
  /** Its first IPv4 address: the multicast membership and outgoing interface of its responder. */
  readonly address: string;
}

export type InterfaceLister = () => NetInterface[];

/** Usable interfaces from an `os.networkInterfaces()`-shaped listing. */
export function usableInterfaces(listing: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): NetInterface[] {
  const usable: NetInterface[] = [];
  for (const [name, infos] of Object.entries(listing)) {
    const ipv4 = (infos ?? []).find((info) => info.family === 'IPv4' && !info.internal);
    if (ipv4 !== undefined) usable.push({ name, address: ipv4.address });
  }
  return usable;
}

/** A responder is tied to one interface *and* address: a new address means a new responder. */
export function interfaceKey(iface: NetInterface): string {
  return `${iface.name}/${iface.address}`;
}
