// What a kernel error says, layer by layer: the reason names the object the request was about (a connection or
// an expectation for ctnetlink, a link, route... for rtnetlink), never "connection" for a router error.
import { checkError, rt } from 'netlink';
import { describe, expect, it } from 'vitest';
import { NetlinkError } from '@/lib/conntrack';
import { IPCTNL_MSG, IPCTNL_MSG_EXP, ctnlMsgType, expMsgType, subjectOf } from '@/lib/conntrack/constants';
import { rtnetlinkError } from '@/lib/router/netlink';

/** What the npm `netlink` package throws for the kernel's NLMSG_ERROR answer with this errno to a request. */
function packageRejection(errno: number, requestType: number): unknown {
  const data = Buffer.alloc(4 + 16);
  data.writeInt32LE(-errno, 0);
  data.writeUInt32LE(16, 4);
  data.writeUInt16LE(requestType, 8);
  try {
    checkError({ type: 2 /* NLMSG_ERROR */, flags: 0, seq: 1, port: 0, data });
  } catch (error) {
    return error;
  }
  throw new Error('the package accepted an error message');
}

describe('NetlinkError reasons', () => {
  it.each([
    ['dump routes', 'route', rt.MessageType.GETROUTE],
    ['dump links', 'link', rt.MessageType.GETLINK],
    ['dump neighbours', 'neighbour', rt.MessageType.GETNEIGH],
  ] as const)('rtnetlink %s: the kernel errno survives the package and the reason names a %s', (operation, subject, type) => {
    for (const [errno, code, words] of [
      [2, 'ENOENT', `no such ${subject}`],
      [17, 'EEXIST', `the ${subject} already exists`],
    ] as const) {
      const error = rtnetlinkError(operation, packageRejection(errno, type), subject);
      expect(error).toBeInstanceOf(NetlinkError);
      expect(error).toMatchObject({ errno, code, operation });
      expect(error.message).toContain(`${operation}: ${words}`);
      expect(error.message).not.toContain('connection');
    }
  });

  it('rtnetlink errors of no one kind do not say connection either', () => {
    const error = rtnetlinkError('read rtnetlink changes', packageRejection(2, rt.MessageType.GETLINK));
    expect(error.code).toBe('ENOENT');
    expect(error.message).not.toContain('connection');
  });

  it('ctnetlink requests name a connection or an expectation from their message type', () => {
    const connection = new NetlinkError({ errno: 17, operation: 'create connection', subject: subjectOf(ctnlMsgType(IPCTNL_MSG.CT_NEW)) });
    expect(connection.message).toBe('create connection: the connection already exists [EEXIST]');
    const expectation = new NetlinkError({ errno: 2, operation: 'get expectation', subject: subjectOf(expMsgType(IPCTNL_MSG_EXP.GET)) });
    expect(expectation.message).toBe('get expectation: no such expectation (it does not exist or is already gone) [ENOENT]');
  });

  it('without a subject the protocol-free layer names no protocol object', () => {
    expect(new NetlinkError({ errno: 2, operation: 'open socket' }).message).toBe('open socket: no such entry (it does not exist or is already gone) [ENOENT]');
  });
});
