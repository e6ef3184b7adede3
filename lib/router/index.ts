// The public face of lib/router: what lib/console, the lab tests and the demo may use.
export { Router, bytesKey, type RouterOptions, type RouterStats, type RouteDecision, type FlowKey } from './router';
export { MAIN_TABLE, type Link, type InterfaceAddress, type Route, type Rule, type Neighbour, type Topology, type Family } from './types';
