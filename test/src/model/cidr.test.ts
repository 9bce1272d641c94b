/**
 * The cluster CIDR and the nodes' pod CIDRs (src/model/cidr.ts), as kube-controller-manager's
 * range allocator hands out /24s.
 */
import { expect } from 'chai';
import { clusterCIDRProblem, nodeInternalIP, nodeSubnet, parseClusterCIDR } from '../../../src/model/cidr.ts';

describe('cluster CIDR (nodeipam range allocator)', () => {
  const subnets: [string, string, number, string | undefined][] = [
    ['the default /16: node-1 has 10.244.1.0/24', '10.244.0.0/16', 1, '10.244.1'],
    ['the default /16: node-255 has the last /24', '10.244.0.0/16', 255, '10.244.255'],
    ['the default /16 has no 256th /24', '10.244.0.0/16', 256, undefined],
    ['a /14 counts on into the next octet: node-256 has 10.245.0.0/24', '10.244.0.0/14', 256, '10.245.0'],
    ['a /14 holds node-1000', '10.244.0.0/14', 1000, '10.247.232'],
    ['a /14 has 1,024 /24s and no more', '10.244.0.0/14', 1024, undefined],
    ['an address with host bits is masked to its network, as net.ParseCIDR does', '10.244.9.9/16', 3, '10.244.3'],
    ['a /24 cluster CIDR is one node\'s room: only its index 0', '10.1.2.0/24', 1, undefined],
  ];
  for (const [name, cidr, n, want] of subnets) {
    it(name, () => {
      expect(nodeSubnet(parseClusterCIDR(cidr)!, n)).to.equal(want);
    });
  }

  const problems: [string, string, RegExp | undefined][] = [
    ['a /16 is fine', '10.244.0.0/16', undefined],
    ['a /24 is fine (one node)', '10.0.0.0/24', undefined],
    ['a /25 cannot hold a node\'s /24', '10.0.0.0/25', /at most \/24/],
    ['a /4 is too wide', '16.0.0.0/4', /at least \/8/],
    ['an IPv6 CIDR is not modelled', 'fd00::/48', /IPv4 CIDR/],
    ['an octet past 255 is not an address', '10.256.0.0/16', /IPv4 CIDR/],
    ['no prefix is not a CIDR', '10.244.0.0', /IPv4 CIDR/],
  ];
  for (const [name, cidr, want] of problems) {
    it(name, () => {
      const why = clusterCIDRProblem(cidr);
      if (want) expect(why).to.match(want);
      else expect(why).to.equal(undefined);
    });
  }

  it('node InternalIPs count on from 192.168.0.11 through the /16', () => {
    expect([1, 245, 246, 1000].map(nodeInternalIP)).to.deep.equal(['192.168.0.11', '192.168.0.255', '192.168.1.0', '192.168.3.242']);
  });
});
