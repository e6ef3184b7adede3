// The public face of lib/conntrack: what app/, the CLI, the lab and the benchmarks may use.
export { Conntrack, type ConntrackOptions, type DumpOptions, type SnapshotOptions, type EntryRef, type DeleteManyResult, type DeleteMatchingResult } from './client';
export { ConntrackEvents, type EventsOptions } from './events';
export { ConntrackExpectations, type ExpectationRef, type ListedExpectation, type ExpectationDeleteResult } from './expectations';
export { expectationFilterSchema, expectationFilterShape, toExpectationFilter, matchesExpectation, sameTuple, type ExpectationFilter } from './expectation-filter';
export { emptyFields, emptyProgress, Snapshot, matches, startedMs, FAMILY_V6, NO_STATE, SHAPE, GROUP_KEYS, GROUP_METRICS, type Columns, type ColumnBuffers, type SpareBuffers, type EntryFields, type EntryProgress, type RowMask, type RowCursor, type SnapshotQuery, type SnapshotInfo, type SnapshotSummary, type Page, type ColumnGroupKey, type Group, type Grouping, type Others, type GroupKey, type GroupMetric, type KeyColumn } from './snapshot';
export { answeringPage, answerPage, backgroundTurn, blocks, inTurns, ownTurn, runAll, type Steps } from './snapshot/order';
export { SORT_KEYS, type SortKey } from './vocabulary';
export { filterSchema, filterShape, hostPattern, parseFilter, toFilter, hasLabel, isEmptyFilter, STATUS_NAMES, type ToFilterOptions, type Filter, type HostMatch, type FilterInput, type PortRange, type StatusMatch } from './filter';
export { readEventsSysctl } from './event-support';
export { NetlinkError, NamespaceError, CodecError, ValidationError } from './errors';
export { parsePrefix, type Prefix } from '@/lib/netlink/address';
export { natInfo, closedBy, statusNames, statusNamesShown } from './codec/connection';
export { externalAddress, externalEndpoint, externalKind, externalSlot, type ExternalAddress, type ExternalKind } from './external';
export { IPS, IP_CT_TCP_FLAG, TCP_STATES, PROTOCOL_NAMES, PORTED_PROTOCOLS, STATUS_FLAGS, IPPROTO, NF_CT_EXPECT } from './constants';
export type * from './types';
export { SETTING_GROUPS, TAKES_EFFECT, settingInfo, settingRange, validateSettingValue, fixedReasonText, rangeText, type SettingGroup, type SettingInfo, type FixedReason } from './settings';
export { readNetfilterSysctls, writeNetfilterSysctl, sysctlPath, type NetfilterSysctls, type SysctlValue, type WriteBlock } from './sysctl';
