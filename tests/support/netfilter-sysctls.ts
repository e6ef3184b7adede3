// A child process for the settings tests: reads the net.netfilter sysctls through lib/conntrack (and optionally
// writes one) under whatever sandbox the test started it in - a read-only /proc/sys, another user, fewer
// capabilities - and prints what it saw as JSON.
//   node --import tsx tests/support/netfilter-sysctls.ts NETNS|- [NAME=VALUE]
import { readNetfilterSysctls, writeNetfilterSysctl } from '../../lib/conntrack';

const [netnsArg, assignment] = process.argv.slice(2);
const netns = netnsArg === '-' ? undefined : netnsArg;
const result: { sysctls: ReturnType<typeof readNetfilterSysctls>; write?: { before: string; after: string } | { error: string } } = { sysctls: readNetfilterSysctls(netns) };
if (assignment) {
  const [name, value] = assignment.split('=');
  try {
    result.write = writeNetfilterSysctl({ netns, name, value });
  } catch (error) {
    result.write = { error: (error as Error).message };
  }
}
process.stdout.write(JSON.stringify(result));
