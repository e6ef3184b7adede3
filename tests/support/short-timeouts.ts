// Short conntrack timeouts for a test's own router namespace, so UDP and closed TCP entries expire within the test
// (`sysctl -q -w ...SHORT_TIMEOUTS` inside that namespace, never the host's).
export const SHORT_TIMEOUTS: readonly string[] = [
  'net.netfilter.nf_conntrack_udp_timeout=3',
  'net.netfilter.nf_conntrack_udp_timeout_stream=3',
  'net.netfilter.nf_conntrack_tcp_timeout_time_wait=2',
  'net.netfilter.nf_conntrack_tcp_timeout_close=2',
  'net.netfilter.nf_conntrack_tcp_timeout_fin_wait=2',
  'net.netfilter.nf_conntrack_tcp_timeout_close_wait=2',
  'net.netfilter.nf_conntrack_tcp_timeout_last_ack=2',
];
