// The public face of lib/router: what lib/console, the lab tests and the demo may use.
export { Router, bytesKey, type RouterOptions, type RouterStats, type RouteDecision, type FlowKey } from './router';
export { MAIN_TABLE, type Link, type InterfaceAddress, type Route, type Rule, type Neighbour, type Topology, type Family } from './types';
export { WanTracker, FORMER_ADDRESS_DAYS, type WanConfig, type WanState, type WanAddress, type FormerAddress, type AddressOwner, type WanEvent, type WanTrackerOptions } from './wans';
export { interfaceNames } from './netlink';
export { formatAddressBytes } from './decode';
