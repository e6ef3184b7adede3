// The network-namespace lab: namespaces for tests, the lan/router/internet topology, traffic and churn on it.
export { LAB_ADDRESSES, LAB_CONNLABELS, LAB_HOST_NAMES, LAB_HOSTS, LAB_PTR_NAMES, LAB_PTR_SILENT, labLeases, type DualStack, type Family, type LabAddresses, type Wan, type WanAddresses } from './addresses';
export type { Agent } from './agentClient';
export { startChurn, type Churn, type ChurnOptions, type ChurnStats } from './churn';
export { startFtpSession, pingRouter, type FtpSession, type FtpSessionOptions } from './helper-traffic';
export { createLab, type AgentRole, type Lab, type LabOptions, type LabRole } from './lab';
export { activeWan, attachLab, failover, replaceWanAddress, setWanCarrier, setWanLink, wanAddresses, WAN_TABLES, WANS, type LabHandle } from './uplinks';
export {
  createNamespace,
  deleteNamespace,
  listNamespaces,
  parseNamespaceName,
  removeStaleLabs,
  withNamespace,
  type Namespace,
  type NamespaceOptions,
} from './namespace';
export { LabCommandError, type CommandOutput } from './run';
export { parseConntrackLine, readConntrackTable, type Packets, type TableEntry, type TableTuple } from './table';
export {
  generateTraffic,
  TRAFFIC_KINDS,
  type FlowProtocol,
  type GeneratedFlow,
  type GeneratedTraffic,
  type TrafficKind,
  type TrafficOptions,
} from './traffic';
export { ptrName, startLabDns, type LabDns, type LabDnsOptions } from './dns';
